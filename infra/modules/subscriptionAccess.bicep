targetScope = 'subscription'

// Role assignments on a whole subscription (discovery: list the vaults there; and, when asked, the
// backup role so the vaults found can be backed up), for the app's identity and the operators.

@description('Principal (object) id of the Function App\'s identity.')
param principalId string

@description('Role definition GUIDs (the custom discovery role, and the backup role when discovered vaults are granted).')
param roleGuids string[]

@description('Principal (object) id of the operators (a group, usually); empty = none. They get the same roles, for kvbackup discover and backups of discovered vaults from their machines.')
param operatorPrincipalId string

@allowed(['Group', 'User'])
param operatorPrincipalType string

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for roleGuid in roleGuids: {
    name: guid(subscription().id, principalId, roleGuid)
    properties: {
      principalId: principalId
      principalType: 'ServicePrincipal'
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleGuid)
    }
  }
]

resource operatorAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for roleGuid in (empty(operatorPrincipalId) ? [] : roleGuids): {
    name: guid(subscription().id, operatorPrincipalId, roleGuid)
    properties: {
      principalId: operatorPrincipalId
      principalType: operatorPrincipalType
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleGuid)
    }
  }
]
