export { newCacheCounts, type CacheCounts } from './counts';
export { Versions, type VersionNotice } from './versions';
export { VersionedCache, type Version, type VersionedCacheOptions } from './versioned-cache';
export { readMany } from './read-many';
export { VersionFeed, type FeedState, type VersionFeedOptions } from './version-feed';
export { UnchangedReuse } from './unchanged-reuse';
