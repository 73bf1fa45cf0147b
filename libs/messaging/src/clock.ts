import { v7 as uuidv7 } from 'uuid';

/** Time and ids are passed in, so handlers and the outbox test without patching globals. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

export type IdGenerator = () => string;

/** UUIDv7: time-ordered, so ids sort roughly by creation and index well. */
export const uuidV7: IdGenerator = () => uuidv7();
