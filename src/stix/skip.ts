/** Why a ThreatStream record gives no indicator; counted per reason in the run summary. */
export type SkipReason =
  'unsupported_type' | 'invalid_value' | 'invalid_timestamp' | 'unsupported_status';

export interface Skip {
  ok: false;
  reason: SkipReason;
  detail: string;
}
