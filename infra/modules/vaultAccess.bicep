// Role assignments on one existing vault (deployed into the vault's own subscription and resource
// group). The custom roles are referenced in this subscription: a custom role is available at every
// scope its assignableScopes list, so /subscriptions/<this one>/providers/.../roleDefinitions/<guid>
// resolves to it.

@description('Name of an existing Key Vault in this resource group.')
param vaultName string

@description('Principal (object) id of the Function App\'s identity.')
param appPrincipalId string

@description('Role definition GUIDs the Function App\'s identity gets on this vault.')
param appRoles string[]

@description('Principal (object) id of the operator (a group, usually); empty = none.')
param operatorPrincipalId string

@allowed(['Group', 'User'])
param operatorPrincipalType string

@description('Role definition GUIDs the operator gets on this vault.')
param operatorRoles string[]

@description('rbac: role assignments. accessPolicy: the vault still uses access policies, where a role assignment does nothing, so the same rights are granted by an access policy instead.')
param accessModel 'rbac' | 'accessPolicy'

@description('On an access-policy vault: the app\'s permissions for secrets, keys and certificates alike (src/domain/permissions.ts: list, backup, restore; never get).')
param appPolicy string[]

@description('On an access-policy vault: the operator\'s permissions.')
param operatorPolicy string[]

var rbac = accessModel == 'rbac'
func policyOf(tenantId string, principal string, permissions string[]) object => {
  tenantId: tenantId
  objectId: principal
  permissions: { secrets: permissions, keys: permissions, certificates: permissions }
}

resource vault 'Microsoft.KeyVault/vaults@2025-05-01' existing = {
  name: vaultName
}

// "add" merges these entries into the vault's access policies; the vault's other entries stay.
resource policies 'Microsoft.KeyVault/vaults/accessPolicies@2025-05-01' = if (!rbac) {
  parent: vault
  name: 'add'
  properties: {
    accessPolicies: concat(
      [policyOf(tenant().tenantId, appPrincipalId, appPolicy)],
      empty(operatorPrincipalId) || empty(operatorPolicy)
        ? []
        : [policyOf(tenant().tenantId, operatorPrincipalId, operatorPolicy)]
    )
  }
}

resource appAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for role in (rbac ? appRoles : []): {
    name: guid(vault.id, appPrincipalId, role)
    scope: vault
    properties: {
      principalId: appPrincipalId
      principalType: 'ServicePrincipal'
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role)
    }
  }
]

resource operatorAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for role in (empty(operatorPrincipalId) || !rbac ? [] : operatorRoles): {
    name: guid(vault.id, operatorPrincipalId, role)
    scope: vault
    properties: {
      principalId: operatorPrincipalId
      principalType: operatorPrincipalType
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role)
    }
  }
]
