/** How long a prediction (and its label) stays joinable, in days. */
export const DEFAULT_TTL_DAYS = 90;
/** The prediction index's GSI by model and hour of prediction time (`gsi1pk`/`gsi1sk`). */
export const BY_HOUR_INDEX = 'gsi1';
