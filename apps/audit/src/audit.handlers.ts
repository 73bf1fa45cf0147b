import { consumedBy } from '@boxoffice/contracts';
import { EventRecordedHandler } from './trail/event-recorded.handler.js';

/** Everything Audit handles, as the `audit` consumer group: every event the catalog says it receives, into the log. */
export const auditHandlers = consumedBy('audit').map(({ message }) => ({ message, handler: EventRecordedHandler }));
