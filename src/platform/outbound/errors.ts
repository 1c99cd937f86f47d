import { defineErrors } from '../../shared/errors.ts';

export const outboundError = defineErrors({
  outbound_not_found: 404,
  already_sent: 409,
  not_sent: 409,
  outbound_stopped: 409,
  segment_not_found: 404,
});
