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

resource vault 'Microsoft.KeyVault/vaults@2025-05-01' existing = {
  name: vaultName
}

resource appAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for role in appRoles: {
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
  for role in (empty(operatorPrincipalId) ? [] : operatorRoles): {
    name: guid(vault.id, operatorPrincipalId, role)
    scope: vault
    properties: {
      principalId: operatorPrincipalId
      principalType: operatorPrincipalType
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role)
    }
  }
]
