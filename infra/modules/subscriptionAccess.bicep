targetScope = 'subscription'

// One role assignment on a whole subscription (discovery: list the vaults there).

@description('Principal (object) id of the Function App\'s identity.')
param principalId string

@description('Role definition GUID (the custom discovery role).')
param roleGuid string

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().id, principalId, roleGuid)
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleGuid)
  }
}
