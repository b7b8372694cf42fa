targetScope = 'subscription'

@description('azd environment name: names the resource group and the resources.')
@minLength(1)
@maxLength(20)
param environmentName string

param location string

@description('Vaults to back up: [{ name, resourceGroup }] (vaults may sit in other resource groups of this subscription).')
param vaults array

@description('Extra vaults a restore may write to: [{ name, resourceGroup }].')
param restoreTargets array = []

@description('Deploy the restore role, its assignments and the restore API\'s authorization.')
param enableRestore bool = true

@description('serviceEndpoint: the Function subnet is a virtual network rule on the storage firewall. privateEndpoint: blob/queue/table private endpoints with private DNS zones.')
@allowed(['serviceEndpoint', 'privateEndpoint'])
param networkMode string = 'serviceEndpoint'

@description('Operator IPs/CIDRs allowed through the backup storage firewall.')
param storageIpRules array = []

@description('Storage firewall bypass: None by default ("trusted Microsoft services" do not write these backups).')
@allowed(['None', 'AzureServices', 'Logging', 'Metrics'])
param storageBypass string = 'None'

@description('Optional Managed HSM resource id for a resource instance rule (only when the HSM writes a full backup itself).')
param managedHsmResourceId string = ''

@allowed(['Standard_LRS', 'Standard_ZRS', 'Standard_GRS', 'Standard_GZRS', 'Standard_RAGRS', 'Standard_RAGZRS'])
param storageSku string = 'Standard_GZRS'

param dailyRetentionDays int = 30
param weeklyRetentionDays int = 90
param manualRetentionDays int = 90
param previousVersionRetentionDays int = 30
param softDeleteDays int = 14

@description('Version-level immutability (WORM) in days, 0 = off; below the shortest retention.')
@maxValue(29)
param immutabilityDays int = 0

param backupSchedule string = '0 0 2 * * *'
param weeklyDay string = 'Sunday'

@description('Key Vault transactions per vault per 10 s the app may spend (the vault\'s limit is 4000).')
@minValue(10)
@maxValue(4000)
param ratePer10s int = 2000

@description('Use a user-assigned identity (created here) instead of the system-assigned one.')
param useUserAssignedIdentity bool = false

@description('Client id of the Entra app registration for App Service authentication (the Backup.Restore app role lives there).')
param restoreAppClientId string = ''

param alertEmails array = []

@description('Hours without a successful run before the dead man\'s switch fires.')
param deadManHours int = 26

param vnetAddressPrefix string = '10.40.0.0/24'
param functionSubnetPrefix string = '10.40.0.0/27'
param privateEndpointSubnetPrefix string = '10.40.0.32/27'

param maximumInstanceCount int = 40
param instanceMemoryMB int = 2048

// The name of the event src/telemetry/telemetry.ts emits; the alerts query it.
var runCompletedEvent = 'KeyVaultBackupRunCompleted'
var token = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName, app: 'kvbackup' }
var containerName = 'keyvault-backups'
var inventoryTableName = 'backupinventory'

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: 'rg-${environmentName}'
  location: location
  tags: tags
}

module roles 'modules/roles.bicep' = {
  name: 'kvbackup-roles'
  params: {
    assignableScopes: [subscription().id]
    enableRestore: enableRestore
  }
}

module network 'modules/network.bicep' = {
  name: 'kvbackup-network'
  scope: rg
  params: {
    name: 'vnet-${environmentName}'
    location: location
    tags: tags
    addressPrefix: vnetAddressPrefix
    functionSubnetPrefix: functionSubnetPrefix
    privateEndpointSubnetPrefix: privateEndpointSubnetPrefix
    networkMode: networkMode
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'kvbackup-monitoring'
  scope: rg
  params: {
    name: environmentName
    location: location
    tags: tags
    alertEmails: alertEmails
    runCompletedEvent: runCompletedEvent
    vaultNames: [for v in vaults: v.name]
    deadManHours: deadManHours
  }
}

module identity 'modules/identity.bicep' = if (useUserAssignedIdentity) {
  name: 'kvbackup-identity'
  scope: rg
  params: {
    name: 'id-${environmentName}'
    location: location
    tags: tags
  }
}

var backupStorageName = 'stkvb${token}'

module app 'modules/functionApp.bicep' = {
  name: 'kvbackup-app'
  scope: rg
  params: {
    name: 'func-${environmentName}-${token}'
    location: location
    tags: union(tags, { 'azd-service-name': 'api' })
    functionSubnetId: network.outputs.functionSubnetId
    hostStorageName: 'sthost${token}'
    deploymentContainerUrl: 'https://sthost${token}.blob.${environment().suffixes.storage}/app-package'
    insightsConnectionString: monitoring.outputs.insightsConnectionString
    insightsId: monitoring.outputs.insightsId
    userAssignedIdentityId: useUserAssignedIdentity ? identity!.outputs.id : ''
    userAssignedClientId: useUserAssignedIdentity ? identity!.outputs.clientId : ''
    userAssignedPrincipalId: useUserAssignedIdentity ? identity!.outputs.principalId : ''
    restoreAppClientId: enableRestore ? restoreAppClientId : ''
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    settings: {
      // name=URL: the cloud's own Key Vault DNS suffix (sovereign clouds included).
      BACKUP_VAULTS: join(map(vaults, v => '${v.name}=https://${v.name}${environment().suffixes.keyvaultDns}'), ',')
      RESTORE_TARGET_VAULTS: join(map(restoreTargets, v => '${v.name}=https://${v.name}${environment().suffixes.keyvaultDns}'), ',')
      BACKUP_STORAGE__blobServiceUri: 'https://${backupStorageName}.blob.${environment().suffixes.storage}'
      BACKUP_STORAGE__queueServiceUri: 'https://${backupStorageName}.queue.${environment().suffixes.storage}'
      BACKUP_STORAGE__tableServiceUri: 'https://${backupStorageName}.table.${environment().suffixes.storage}'
      BACKUP_STORAGE__credential: 'managedidentity'
      BACKUP_CONTAINER: containerName
      BACKUP_INVENTORY_TABLE: inventoryTableName
      BACKUP_SCHEDULE: backupSchedule
      BACKUP_WEEKLY_DAY: weeklyDay
      BACKUP_KINDS: 'secrets,keys,certificates'
      BACKUP_RATE_PER_10S: ratePer10s
      RESTORE_REQUIRE_ROLE: 'true'
    }
  }
}

module hostStorage 'modules/hostStorage.bicep' = {
  name: 'kvbackup-host-storage'
  scope: rg
  params: {
    name: 'sthost${token}'
    location: location
    tags: tags
    principalId: app.outputs.hostPrincipalId
  }
}

module backupStorage 'modules/backupStorage.bicep' = {
  name: 'kvbackup-backup-storage'
  scope: rg
  params: {
    name: backupStorageName
    location: location
    tags: tags
    skuName: storageSku
    networkMode: networkMode
    functionSubnetId: network.outputs.functionSubnetId
    privateEndpointSubnetId: network.outputs.privateEndpointSubnetId
    vnetId: network.outputs.vnetId
    ipRules: storageIpRules
    bypass: storageBypass
    managedHsmResourceId: managedHsmResourceId
    containerName: containerName
    inventoryTableName: inventoryTableName
    dailyRetentionDays: dailyRetentionDays
    weeklyRetentionDays: weeklyRetentionDays
    manualRetentionDays: manualRetentionDays
    previousVersionRetentionDays: previousVersionRetentionDays
    softDeleteDays: softDeleteDays
    immutabilityDays: immutabilityDays
    principalId: app.outputs.principalId
    logAnalyticsWorkspaceId: monitoring.outputs.workspaceId
  }
}

module backupAccess 'modules/vaultAccess.bicep' = [
  for v in vaults: {
    name: 'kvbackup-access-${v.name}'
    scope: resourceGroup(v.resourceGroup)
    params: {
      vaultName: v.name
      principalId: app.outputs.principalId
      backup: true
      backupRoleId: roles.outputs.backupOperatorRoleId
      restoreRoleId: roles.outputs.restoreOperatorRoleId
    }
  }
]

module restoreAccess 'modules/vaultAccess.bicep' = [
  for v in restoreTargets: if (enableRestore) {
    name: 'kvbackup-restore-${v.name}'
    scope: resourceGroup(v.resourceGroup)
    params: {
      vaultName: v.name
      principalId: app.outputs.principalId
      backup: false
      backupRoleId: roles.outputs.backupOperatorRoleId
      restoreRoleId: roles.outputs.restoreOperatorRoleId
    }
  }
]

output AZURE_RESOURCE_GROUP string = rg.name
output FUNCTION_APP_NAME string = app.outputs.name
output FUNCTION_APP_HOST string = app.outputs.defaultHostName
output FUNCTION_PRINCIPAL_ID string = app.outputs.principalId
output BACKUP_STORAGE_ACCOUNT string = backupStorage.outputs.name
output FUNCTION_SUBNET_ID string = network.outputs.functionSubnetId
