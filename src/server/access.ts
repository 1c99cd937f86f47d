/** Who a route lets in. Every route names its list; there is no default. */
export type Access =
  | 'admin' // a teammate session with role admin
  | 'teammate' // any teammate session (admins included)
  | 'token' // an API token (created by an admin, for scripts)
  | 'messenger_user' // a messenger session whose user identity was verified with a JWT
  | 'messenger_lead' // an anonymous messenger session
  | 'public';

export const TEAM: readonly Access[] = ['teammate', 'token'];
export const ADMIN: readonly Access[] = ['admin'];
export const ADMIN_OR_TOKEN: readonly Access[] = ['admin', 'token'];
export const MESSENGER: readonly Access[] = ['messenger_user', 'messenger_lead'];
export const PUBLIC: readonly Access[] = ['public'];

export type Principal =
  | {
      kind: 'teammate';
      workspaceId: string;
      teammateId: string;
      role: 'admin' | 'teammate';
      csrfToken: string;
    }
  | { kind: 'token'; workspaceId: string; tokenId: string }
  | { kind: 'messenger'; workspaceId: string; contactId: string; verified: boolean }
  | { kind: 'anonymous' };

export type WorkspacePrincipal = Exclude<Principal, { kind: 'anonymous' }>;

export function principalAccess(p: Principal): Access[] {
  switch (p.kind) {
    case 'teammate':
      return p.role === 'admin' ? ['admin', 'teammate'] : ['teammate'];
    case 'token':
      return ['token'];
    case 'messenger':
      return [p.verified ? 'messenger_user' : 'messenger_lead'];
    case 'anonymous':
      return [];
  }
}
