@description('Name of an existing Key Vault in this resource group.')
param vaultName string

@description('Principal (object) id of the Function App\'s identity.')
param principalId string

param backupRoleId string

@description('false for a vault that is only a restore target.')
param backup bool

@description('Empty when restore is not enabled.')
param restoreRoleId string

resource vault 'Microsoft.KeyVault/vaults@2024-11-01' existing = {
  name: vaultName
}

resource backupAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (backup) {
  name: guid(vault.id, principalId, backupRoleId)
  scope: vault
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: backupRoleId
  }
}

resource restoreAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(restoreRoleId)) {
  name: guid(vault.id, principalId, 'restore')
  scope: vault
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: restoreRoleId
  }
}
