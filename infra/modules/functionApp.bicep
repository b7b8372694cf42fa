param name string
param location string
param tags object
param functionSubnetId string
param hostStorageName string
param deploymentContainerUrl string

@description('Application settings beyond the host\'s own (the BACKUP_* settings).')
param settings object

param insightsConnectionString string
param insightsId string

@description('Resource id of a user-assigned identity to use instead of the system-assigned one (optional). Given: the site has only this identity, and it is the one every role goes to.')
param userAssignedIdentityId string

@description('Client id of the user-assigned identity, when one is used.')
param userAssignedClientId string

@description('Principal id of the user-assigned identity, when one is used.')
param userAssignedPrincipalId string

@description('Client id of the Entra app registration that App Service authentication validates tokens for (restore role). Empty: no authentication is configured, and the app refuses every HTTP restore (AuthenticationNotEnabled); main.bicep only passes empty when restoreApi is off or restore is disabled.')
param restoreAppClientId string

param maximumInstanceCount int
param instanceMemoryMB int

var useUserAssigned = !empty(userAssignedIdentityId)
// The one identity of the app: it calls Key Vault, both storage accounts (host and backup, the
// deployment container included) and Azure Monitor. Never a mix of the two kinds.
var dataPrincipalId = useUserAssigned ? userAssignedPrincipalId : site.identity.principalId

resource plan 'Microsoft.Web/serverfarms@2025-03-01' = {
  name: 'plan-${name}'
  location: location
  tags: tags
  kind: 'functionapp'
  sku: { tier: 'FlexConsumption', name: 'FC1' }
  properties: { reserved: true }
}

var baseSettings = {
  AzureWebJobsStorage__accountName: hostStorageName
  AzureWebJobsStorage__credential: 'managedidentity'
  APPLICATIONINSIGHTS_CONNECTION_STRING: insightsConnectionString
  // Local auth is off on Application Insights: the host authenticates with the identity.
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: useUserAssigned ? 'Authorization=AAD;ClientId=${userAssignedClientId}' : 'Authorization=AAD'
}

var identitySettings = useUserAssigned
  ? {
      AzureWebJobsStorage__clientId: userAssignedClientId
      AZURE_CLIENT_ID: userAssignedClientId
      BACKUP_STORAGE__clientId: userAssignedClientId
    }
  : {}

var allSettings = union(baseSettings, identitySettings, settings)

resource site 'Microsoft.Web/sites@2025-03-01' = {
  name: name
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: useUserAssigned
    ? { type: 'UserAssigned', userAssignedIdentities: { '${userAssignedIdentityId}': {} } }
    : { type: 'SystemAssigned' }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // All outbound traffic through the VNet: that is the path the storage and vault firewalls allow.
    // (applicationTraffic is what API versions before 2024-11-01 called vnetRouteAllEnabled.)
    virtualNetworkSubnetId: functionSubnetId
    outboundVnetRouting: { applicationTraffic: true }
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      appSettings: [for s in items(allSettings): { name: s.key, value: string(s.value) }]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: useUserAssigned
            ? { type: 'UserAssignedIdentity', userAssignedIdentityResourceId: userAssignedIdentityId }
            : { type: 'SystemAssignedIdentity' }
        }
      }
      scaleAndConcurrency: { maximumInstanceCount: maximumInstanceCount, instanceMemoryMB: instanceMemoryMB }
      // Node 22 LTS (Node 20 is end-of-life); package.json engines asks for >=22 too.
      runtime: { name: 'node', version: '22' }
    }
  }
}

// App Service authentication: validates Entra ID tokens and passes the caller (with its app roles)
// as x-ms-client-principal, a header App Service strips from incoming requests and sets itself.
// Anonymous callers still reach the function-key routes; only the restore route requires the role.
resource auth 'Microsoft.Web/sites/config@2025-03-01' = if (!empty(restoreAppClientId)) {
  parent: site
  name: 'authsettingsV2'
  properties: {
    platform: { enabled: true }
    globalValidation: { requireAuthentication: false, unauthenticatedClientAction: 'AllowAnonymous' }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          clientId: restoreAppClientId
          openIdIssuer: '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
        }
        validation: { allowedAudiences: ['api://${restoreAppClientId}', restoreAppClientId] }
      }
    }
    login: { tokenStore: { enabled: false } }
  }
}

resource insights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: last(split(insightsId, '/'))
}

resource metricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  // Named per identity: switching identity modes makes a new assignment instead of trying to
  // change the principal of the old one (which Azure refuses).
  name: guid(insightsId, name, useUserAssigned ? userAssignedIdentityId : 'system-assigned', 'metrics-publisher')
  scope: insights
  properties: {
    principalId: dataPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '3913510d-42f4-4e42-8a64-420c390055eb')
  }
}

output name string = site.name
@description('The app\'s one identity (user-assigned when configured, else system-assigned): every role goes to it.')
output principalId string = dataPrincipalId
output defaultHostName string = site.properties.defaultHostName
