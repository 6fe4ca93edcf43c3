import { Field, Float, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import {
  MAX_CLIENT_EVENT_ID_LENGTH,
  MAX_CLOCK_SKEW_MS,
  MAX_EVENTS_PER_BATCH,
} from '../../services/feedback-service';

export enum FeedbackEventTypeEnum {
  IMPRESSION = 'IMPRESSION',
  CLICK = 'CLICK',
  WATCH = 'WATCH',
  NOT_INTERESTED = 'NOT_INTERESTED',
}

registerEnumType(FeedbackEventTypeEnum, {
  name: 'FeedbackEventType',
  description: 'What the user did with a movie.',
  valuesConfig: {
    IMPRESSION: { description: 'The movie was shown (in a list, on screen).' },
    CLICK: { description: 'The user opened the movie.' },
    WATCH: {
      description:
        'The user watched it; `value` is the fraction watched. 0.8 or more counts as liking it when the ' +
        'collaborative model is trained.',
    },
    NOT_INTERESTED: { description: 'Never recommend this movie to this user again (takes effect at once).' },
  },
});

@InputType('EventInput', { description: 'One feedback event.' })
export class EventInput {
  @Field({
    description:
      `The client's id for this event, unique per user (1–${MAX_CLIENT_EVENT_ID_LENGTH} characters): ` +
      'an event sent again with the same id is counted once, so a batch may be retried safely.',
  })
  clientEventId: string;

  @Field(() => ID, {
    nullable: true,
    description: 'The listId of the recommendation list that showed the movie, if one did.',
  })
  listId?: string | null;

  @Field(() => Int, { description: 'The movie; unknown ids are refused (NOT_FOUND).' })
  movieId: number;

  @Field(() => FeedbackEventTypeEnum)
  type: FeedbackEventTypeEnum;

  @Field(() => Float, { nullable: true, description: 'WATCH only: the fraction watched, 0 to 1.' })
  value?: number | null;

  @Field(() => Date, {
    nullable: true,
    description: `When it happened (default: now); at most ${MAX_CLOCK_SKEW_MS / 60_000} minutes ahead of the server's clock.`,
  })
  at?: Date | null;
}

@ObjectType('RecordEventsResult', { simpleResolvers: true })
export class RecordEventsResult {
  @Field(() => Int, { description: 'Events recorded by this call.' })
  accepted: number;

  @Field(() => Int, {
    description: 'Events already recorded before (same clientEventId), not counted again.',
  })
  duplicates: number;
}

export const RECORD_EVENTS_DESCRIPTION =
  `Records feedback events as the authenticated user, at most ${MAX_EVENTS_PER_BATCH} per call: ` +
  'all or nothing (any invalid event refuses the batch with BAD_USER_INPUT or NOT_FOUND and ' +
  '`extensions.eventIndex`), idempotent by clientEventId.';
