import { CoreCatalog1764000000000 } from './1764000000000-CoreCatalog';
import { CollaborativeModels1764000100000 } from './1764000100000-CollaborativeModels';
import { StatisticalAggregates1764000200000 } from './1764000200000-StatisticalAggregates';
import { ContentEmbeddings1764000300000 } from './1764000300000-ContentEmbeddings';
import { UserAccess1764000400000 } from './1764000400000-UserAccess';
import { OrderedStatisticsLocks1764000500000 } from './1764000500000-OrderedStatisticsLocks';
import { TopNModelKind1764000600000 } from './1764000600000-TopNModelKind';
import { BinaryModelFactors1764001200000 } from './1764001200000-BinaryModelFactors';
import { HybridCalibration1764000700000 } from './1764000700000-HybridCalibration';
import { ServiceKeys1764002000000 } from './1764002000000-ServiceKeys';
import { FeedbackEvents1764002100000 } from './1764002100000-FeedbackEvents';
import { DataVersions1764002300000 } from './1764002300000-DataVersions';
import { WorkerJobs1764002400000 } from './1764002400000-WorkerJobs';
import { Experiments1764002200000 } from './1764002200000-Experiments';
import { EaseTopNModel1764002500000 } from './1764002500000-EaseTopNModel';
import { UserFactorsFollowUsers1764002600000 } from './1764002600000-UserFactorsFollowUsers';

/** Every migration, oldest first; listed explicitly so they load the same under ts and compiled js. */
export const migrations = [
  CoreCatalog1764000000000,
  CollaborativeModels1764000100000,
  StatisticalAggregates1764000200000,
  ContentEmbeddings1764000300000,
  UserAccess1764000400000,
  OrderedStatisticsLocks1764000500000,
  TopNModelKind1764000600000,
  BinaryModelFactors1764001200000,
  HybridCalibration1764000700000,
  ServiceKeys1764002000000,
  FeedbackEvents1764002100000,
  Experiments1764002200000,
  DataVersions1764002300000,
  WorkerJobs1764002400000,
  EaseTopNModel1764002500000,
  UserFactorsFollowUsers1764002600000,
];
