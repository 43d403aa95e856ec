import { identityId } from './ids';
import type { Identity } from './types';

/**
 * Fixed rather than generation time, so the author object is byte-identical in every bundle and
 * re-sending it never registers as a change on the platform.
 */
const AUTHOR_TIMESTAMP = '2024-01-01T00:00:00.000Z';

/** The organization every imported indicator is attributed to (`created_by_ref`). */
export function authorIdentity(name: string): Identity {
  const displayName = name.trim();
  if (displayName === '') throw new RangeError('author name must not be blank');
  return {
    type: 'identity',
    spec_version: '2.1',
    id: identityId(displayName, 'organization'),
    created: AUTHOR_TIMESTAMP,
    modified: AUTHOR_TIMESTAMP,
    name: displayName,
    identity_class: 'organization',
  };
}
