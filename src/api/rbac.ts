/**
 * Roles and permissions, exactly the seed's table. A role also holds every permission of the roles
 * below it (admin ⊇ power_user ⊇ user): the seed lists what each role adds, and an administrator
 * who could not ask a question would be no administrator.
 */
export const ROLES = ['admin', 'power_user', 'user'] as const;
export type Role = (typeof ROLES)[number];

export const SEED_ROLE_PERMISSIONS = {
  admin: ['read', 'write', 'model_management', 'user_management'],
  power_user: ['read', 'write', 'advanced_query'],
  user: ['read', 'basic_query'],
} as const satisfies Record<Role, readonly string[]>;

export type Permission = (typeof SEED_ROLE_PERMISSIONS)[Role][number];

const BELOW: Record<Role, Role[]> = { admin: ['power_user', 'user'], power_user: ['user'], user: [] };

export function permissionsOf(role: Role): Set<Permission> {
  return new Set<Permission>([role, ...BELOW[role]].flatMap((r) => SEED_ROLE_PERMISSIONS[r]));
}

export function roleHas(role: Role, permission: Permission): boolean {
  return permissionsOf(role).has(permission);
}
