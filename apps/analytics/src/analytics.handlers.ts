import { projectedEvents } from './projections/projection.fold.js';
import { ProjectionsHandler } from './projections/projections.handler.js';

/**
 * Everything Analytics handles, as the `analytics` consumer group: the events its numbers are
 * folded from. Several instances share the group and so split the partitions. The payments topic
 * also carries PaymentCaptured and SeatsUnavailable, which Analytics passes over.
 */
export const analyticsHandlers = projectedEvents.map((message) => ({ message, handler: ProjectionsHandler }));
