targetScope = 'subscription'

import { eventsSubscriptionName, eventsSubscriptionProperties, hsmRef, privateDnsZoneIds, vaultGrant, vaultRef, vaultKey, vaultSubscription } from 'modules/types.bicep'

@description('azd environment name: names the resource group and the resources.')
@minLength(1)
@maxLength(20)
param environmentName string

param location string

@description('Vaults to back up: [{ name, resourceGroup, subscriptionId? }]. They may sit in any resource group of any subscription of the tenant; subscriptionId defaults to this deployment\'s.')
param vaults vaultRef[]

@description('Extra vaults a restore may write to: [{ name, resourceGroup, subscriptionId? }].')
param restoreTargets vaultRef[] = []

@description('Deploy the restore role, its assignments and the restore API\'s authorization.')
param enableRestore bool = true

@description('How HTTP restores (POST /api/restores) are authorized. appServiceAuth: App Service authentication validates Entra ID tokens and the Backup.Restore app role is checked (restoreAppClientId is then required). off: no authentication is configured and the app refuses every HTTP restore (AuthenticationNotEnabled); restores go through the kvbackup CLI.')
@allowed(['appServiceAuth', 'off'])
param restoreApi string = 'appServiceAuth'

@description('Client id of the Entra app registration for App Service authentication (the Backup.Restore app role lives there). Required when restoreApi is appServiceAuth and enableRestore is true.')
param restoreAppClientId string = ''

@description('Appended to the custom role names, "Key Vault Backup Operator (<suffix>)": role names are unique per tenant, so every deployment in a tenant needs its own. Set it when the same environment name is deployed to two subscriptions of one tenant.')
@minLength(1)
@maxLength(60)
param roleNameSuffix string = environmentName

@description('Subscription ids whose Key Vaults the app discovers (BACKUP_SUBSCRIPTIONS): the app gets a custom role with only Microsoft.KeyVault/vaults/read on each.')
param discoverySubscriptions string[] = []

@description('Discovery keeps only vaults with this tag, "name=value" (BACKUP_VAULT_TAG); empty = every vault found.')
param discoveryVaultTag string = ''

@description('Discovered vaults can only be backed up with the backup role on them: true assigns "Key Vault Backup Operator (<suffix>)" on each discovery subscription (list + backup on every RBAC vault in it; no secret values). False: assign it per vault yourself. Access-policy vaults need a policy either way.')
param discoveryGrantsBackup bool = true

@description('The restore drill\'s empty scratch vault (BACKUP_DRILL_VAULT): { name, resourceGroup, subscriptionId? }. The app gets the drill role on this vault only.')
param drillVault vaultRef?

@description('Object id of the operators (an Entra group, usually) who run the kvbackup CLI from their machines; empty = none. They get the data roles on the backup container, job queues and inventory table, and the backup and restore roles on the vaults.')
param operatorPrincipalId string = ''

@allowed(['Group', 'User'])
param operatorPrincipalType string = 'Group'

@description('serviceEndpoint: the Function subnet is a virtual network rule on the storage firewall. privateEndpoint: blob/queue/table private endpoints with private DNS zones.')
@allowed(['serviceEndpoint', 'privateEndpoint'])
param networkMode string = 'serviceEndpoint'

@description('Existing privatelink DNS zones (hub-and-spoke): { blob?, queue?, table?, vault? } resource ids. A zone given is used by the private endpoints and not created; a zone left out is created and linked to the VNet.')
param privateDnsZones privateDnsZoneIds = {}

@description('A private endpoint for every vault (backup vaults, restore targets, drill vault) in the private-endpoints subnet, with the privatelink.vaultcore zone (privateDnsZones.vault, or one created here).')
param vaultPrivateEndpoints bool = false

@description('auto: the deployment approves the vault private endpoints (the deployer may approve on each vault, e.g. Contributor there). manual: each is a request the vault\'s owner approves; the app reaches the vault once approved.')
@allowed(['auto', 'manual'])
param vaultPrivateEndpointApproval string = 'auto'

@description('Custom DNS servers for the VNet (hub-and-spoke: the hub resolver that answers for the hub\'s privatelink zones). Empty: Azure-provided DNS.')
param vnetDnsServers string[] = []

@description('Operator IPs/CIDRs allowed through the backup storage firewall.')
param storageIpRules array = []

@description('Storage firewall bypass: None by default ("trusted Microsoft services" do not write these backups). With continuousProtection the deployment adds AzureServices to whatever is set here: Event Grid delivers to a firewalled queue only through that exception.')
@allowed(['None', 'AzureServices', 'Logging', 'Metrics'])
param storageBypass string = 'None'

@description('Continuous protection (BACKUP_EVENTS_QUEUE): every listed vault gets an Event Grid system topic whose subscription delivers its new-version events to the keyvault-events queue of the backup account, dead-lettering into keyvault-events-deadletter; every discovery subscription gets an Azure Policy that does the same for the vaults discovery finds (with the tag). Turns on the firewall\'s trusted-services exception (AzureServices), which Event Grid\'s delivery needs. docs/deploy.md, "Continuous protection".')
param continuousProtection bool = false

@description('Managed HSMs whose full backups the app starts (BACKUP_MANAGED_HSMS). Each gets a resource instance rule on the backup account and its identity the data role on the HSM containers; the app\'s Managed HSM Backup role is the HSM\'s local RBAC: run the commands in the HSM_ROLE_COMMANDS output.')
param managedHsms hsmRef[] = []

@allowed(['Standard_LRS', 'Standard_ZRS', 'Standard_GRS', 'Standard_GZRS', 'Standard_RAGRS', 'Standard_RAGZRS'])
param storageSku string = 'Standard_GZRS'

@description('A CanNotDelete lock on the backup storage account.')
param backupStorageDeleteLock bool = true

param dailyRetentionDays int = 30
param weeklyRetentionDays int = 90
param manualRetentionDays int = 90
param previousVersionRetentionDays int = 30
param softDeleteDays int = 14

@description('Version-level immutability (WORM) in days, 0 = off; below the shortest retention. Account-level: only takes effect on a new backup storage account.')
@maxValue(29)
param immutabilityDays int = 0

@description('Lock the version-level immutability policy. Irreversible: a locked policy can be extended but never shortened or removed. Azure creates the policy unlocked: deploy with immutabilityDays first, then set this in a later deployment.')
param immutabilityLocked bool = false

param backupSchedule string = '0 0 2 * * *'
param weeklyDay string = 'Sunday'

@description('Key Vault transactions per vault per 10 s the app may spend (the vault\'s limit is 4000).')
@minValue(10)
@maxValue(4000)
param ratePer10s int = 2000

@description('Key Vault transactions all runs together may spend per subscription per 10 s (BACKUP_SUBSCRIPTION_RATE_PER_10S); Key Vault caps a subscription at 5 x 4000.')
@minValue(10)
@maxValue(20000)
param subscriptionRatePer10s int = 10000

@description('Daily runs back up only what changed since the vault\'s newest committed run and copy the rest server-side (BACKUP_INCREMENTAL); weekly runs are always full.')
param incremental bool = true

@description('Use a user-assigned identity (created here) instead of the system-assigned one. Either way the app has exactly one identity and every role goes to it.')
param useUserAssignedIdentity bool = false

param alertEmails array = []

@description('Hours without a successful run before the dead man\'s switch fires.')
param deadManHours int = 26

@description('The "no proven restore" alert fires when a vault has had no successful restore drill for this many days (drills run weekly by default).')
@minValue(2)
@maxValue(30)
param provenRestoreDays int = 8

@description('NCRONTAB of the restore drill timer (BACKUP_DRILL_SCHEDULE); only with drillVault.')
param drillSchedule string = '0 0 4 * * 0'

param vnetAddressPrefix string = '10.40.0.0/24'
param functionSubnetPrefix string = '10.40.0.0/27'
param privateEndpointSubnetPrefix string = '10.40.0.32/27'

@description('The isolated copy (docs/isolated-copy.md): the copy account\'s blob endpoint, https://<account>.blob.<storage suffix> (BACKUP_COPY_BLOB_URI; COPY_BLOB_URI output of infra/copy/main.bicep). Empty: no copy, and no copy setting or alert.')
param copyBlobUri string = ''

@description('The copy\'s container (BACKUP_COPY_CONTAINER); empty: the backup container\'s name, keyvault-backups.')
param copyContainer string = ''

@description('Hours after a successful run by which its copy must be made (BACKUP_COPY_MAX_LAG_HOURS): the copy-lagging alert fires beyond it. At most 48: a log search alert reads at most two days.')
@minValue(2)
@maxValue(48)
param copyMaxLagHours int = 26

@description('networkMode privateEndpoint: resource id of the copy account (COPY_ACCOUNT_ID output of infra/copy/main.bicep). The template makes a private endpoint to it in the private-endpoints subnet, registered in the privatelink.blob zone, which the copy\'s owners approve. serviceEndpoint: unused (the copy\'s firewall admits the Function subnet).')
param copyAccountId string = ''

@description('A copy in another tenant: that tenant\'s id (BACKUP_COPY_TENANT_ID). The app signs in there as the app registration copyClientId, whose federated identity credential trusts the Function\'s managed identity (docs/isolated-copy.md, Cross-tenant). Empty: the copy is in this tenant.')
param copyTenantId string = ''

@description('A copy in another tenant: the client id of the multi-tenant app registration the app signs in there as (BACKUP_COPY_CLIENT_ID). Set with copyTenantId, or neither.')
param copyClientId string = ''

param maximumInstanceCount int = 40
param instanceMemoryMB int = 2048

// The names of the events src/telemetry/instruments.ts emits; the alerts query them.
var runCompletedEvent = 'KeyVaultBackupRunCompleted'
var statusEvent = 'KeyVaultBackupStatus'
var copyCompletedEvent = 'KeyVaultBackupCopyCompleted'
var token = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName, app: 'kvbackup' }
var containerName = 'keyvault-backups'
var inventoryTableName = 'backupinventory'
// Continuous protection (src reads them from BACKUP_EVENTS_QUEUE and BACKUP_EVENTS_DEADLETTER_CONTAINER).
var eventsQueueName = continuousProtection ? 'keyvault-events' : ''
var deadLetterContainerName = continuousProtection ? 'keyvault-events-deadletter' : ''
var subscriptionId = toLower(subscription().subscriptionId)

// Checked before anything is deployed (ARM evaluates the template's variables first): role
// required + no authentication must not happen silently.
var authClientId = enableRestore && restoreApi == 'appServiceAuth'
  ? (empty(restoreAppClientId)
      ? fail('restoreApi is appServiceAuth but restoreAppClientId is empty: set restoreAppClientId (azd env set KVBACKUP_RESTORE_APP_CLIENT_ID <client-id>) to the restore app registration, or set restoreApi to off (HTTP restores refused; restores through the kvbackup CLI)')
      : restoreAppClientId)
  : ''
// Managed HSM full backup does not support storage with an immutability policy (Microsoft's
// backup-restore documentation): refuse the combination instead of failing every night.
var hsmsWithoutWorm = !empty(managedHsms) && immutabilityDays > 0
  ? fail('managedHsms with immutabilityDays: Managed HSM full backup does not support immutable storage; deploy the HSM backups to an account without version-level immutability (immutabilityDays = 0)')
  : managedHsms
var hsmResourceIds = map(hsmsWithoutWorm, h => {
  resourceId: '/subscriptions/${toLower(h.?subscriptionId ?? subscriptionId)}/resourceGroups/${h.resourceGroup}/providers/Microsoft.KeyVault/managedHSMs/${h.name}'
  identityPrincipalId: h.identityPrincipalId
})
// Nothing to back up, or nobody to tell: stop before anything is created.
var backsUpSomething = empty(vaults) && empty(discoverySubscriptions) && empty(managedHsms)
  ? fail('no vaults: set vaults (azd env set KVBACKUP_VAULTS \'[{"name":"<vault>","resourceGroup":"<rg>"}]\'), discoverySubscriptions (KVBACKUP_DISCOVERY_SUBSCRIPTIONS) or managedHsms')
  : true
var alertRecipients = empty(alertEmails)
  ? fail('no alert recipients: set alertEmails (azd env set KVBACKUP_ALERT_EMAILS oncall@contoso.com,...): the alerts would fire for nobody')
  : alertEmails
// Events come from vaults: with neither listed vaults nor discovery (HSMs alone) there is no vault to
// subscribe to, and the trusted-services exception would be opened for nothing.
var eventsFromVaults = continuousProtection && empty(vaults) && empty(discoverySubscriptions)
  ? fail('continuousProtection needs vaults or discoverySubscriptions: Key Vault events come from vaults (Managed HSMs send none to back up here); set vaults or discoverySubscriptions, or leave continuousProtection off')
  : continuousProtection
// Event Grid delivers to a queue behind the storage firewall only with the system topic's
// system-assigned identity and the "trusted Microsoft services" exception
// (learn.microsoft.com/azure/event-grid/handler-storage-queues). Storage also lists
// Microsoft.EventGrid/systemTopics among the resource types a resource instance rule can admit
// (storage-network-security-trusted-azure-services), which would be narrower; but Event Grid's own
// delivery documentation names only the exception, so the template relies on the exception and
// keeps whatever else was set (Logging, Metrics).
var effectiveBypass = !eventsFromVaults
  ? storageBypass
  : (storageBypass == 'None' || storageBypass == 'AzureServices' ? 'AzureServices' : '${storageBypass}, AzureServices')
// The isolated copy. Private Link mode reaches it through an endpoint this deployment makes (the
// copy's owners cannot: an endpoint lives in its VNet's subscription); service endpoint mode through
// the copy's virtual network rule for the Function subnet, which needs nothing here.
var hasCopy = !empty(copyBlobUri)
var copyTenantSettings = empty(copyTenantId) && empty(copyClientId)
  ? {}
  : (empty(copyTenantId) || empty(copyClientId)
      ? fail('copyTenantId and copyClientId go together: a copy in another tenant needs its tenant id and the client id of the app registration the app signs in there as (azd env set KVBACKUP_COPY_TENANT_ID / KVBACKUP_COPY_CLIENT_ID)')
      : { BACKUP_COPY_TENANT_ID: copyTenantId, BACKUP_COPY_CLIENT_ID: copyClientId })
var copyEndpointAccountId = hasCopy && networkMode == 'privateEndpoint'
  ? (empty(copyAccountId)
      ? fail('copyBlobUri with networkMode privateEndpoint needs copyAccountId: the copy account\'s resource id (azd env set KVBACKUP_COPY_ACCOUNT_ID <COPY_ACCOUNT_ID output of infra/copy/main.bicep>), for the private endpoint the app reaches it through')
      : copyAccountId)
  : ''
var lockImmutability = immutabilityLocked && immutabilityDays == 0
  ? fail('immutabilityLocked needs a policy to lock: set immutabilityDays (1-29) and deploy once unlocked first')
  : immutabilityLocked

// One custom role of each kind per deployment: GUIDs and names carry the environment, so a second
// deployment in the tenant gets its own roles instead of colliding with (or rewriting) these.
var roleGuids = {
  backup: guid(subscription().id, environmentName, 'kvbackup', 'Key Vault Backup Operator')
  restore: guid(subscription().id, environmentName, 'kvbackup', 'Key Vault Restore Operator')
  drill: guid(subscription().id, environmentName, 'kvbackup', 'Key Vault Restore Drill Operator')
  discovery: guid(subscription().id, environmentName, 'kvbackup', 'Key Vault Discovery Reader')
  eventsDeployer: guid(subscription().id, environmentName, 'kvbackup', 'Key Vault Events Deployer')
}
var hasDrill = drillVault != null
var hasDiscovery = !empty(discoverySubscriptions)
var hasOperator = !empty(operatorPrincipalId)

// Every subscription that holds a vault, restore target or the drill vault, and every discovery
// subscription: the custom roles must be assignable there (and here, where they are defined).
var assignableScopes = union(
  ['/subscriptions/${subscriptionId}'],
  map(vaults, v => '/subscriptions/${vaultSubscription(v, subscriptionId)}'),
  map(restoreTargets, v => '/subscriptions/${vaultSubscription(v, subscriptionId)}'),
  hasDrill ? ['/subscriptions/${vaultSubscription(drillVault!, subscriptionId)}'] : [],
  map(discoverySubscriptions, s => '/subscriptions/${toLower(s)}')
)

// Who gets which role on which vault (src/domain/permissions.ts, VaultGrants; test/infra holds the
// two together). The restore role only when restore is enabled; a restore target that is also a
// backup vault is granted once. On an access-policy vault the same rights go into an access policy
// (list, backup, restore: never get), since a role assignment does nothing there.
var vaultRoles = enableRestore ? [roleGuids.backup, roleGuids.restore] : [roleGuids.backup]
var vaultPolicy = enableRestore ? ['list', 'backup', 'restore'] : ['list', 'backup']
var backupKeys = map(vaults, v => vaultKey(v, subscriptionId))
var restoreOnlyTargets = filter(restoreTargets, t => !contains(backupKeys, vaultKey(t, subscriptionId)))
var drillModel = hasDrill && drillVault!.?accessModel == 'accessPolicy'
  ? fail('drillVault uses access policies: the restore drill\'s scratch vault must use RBAC (its role deletes and purges, and is scoped to that vault only): create it with --enable-rbac-authorization')
  : 'rbac'
var vaultGrants vaultGrant[] = concat(
  map(vaults, v => {
    name: v.name
    resourceGroup: v.resourceGroup
    subscriptionId: vaultSubscription(v, subscriptionId)
    appRoles: vaultRoles
    operatorRoles: hasOperator ? vaultRoles : []
    accessModel: v.?accessModel ?? 'rbac'
    appPolicy: vaultPolicy
    operatorPolicy: hasOperator ? vaultPolicy : []
  }),
  enableRestore
    ? map(restoreOnlyTargets, v => {
        name: v.name
        resourceGroup: v.resourceGroup
        subscriptionId: vaultSubscription(v, subscriptionId)
        appRoles: [roleGuids.restore]
        operatorRoles: hasOperator ? [roleGuids.restore] : []
        accessModel: v.?accessModel ?? 'rbac'
        appPolicy: ['list', 'restore']
        operatorPolicy: hasOperator ? ['list', 'restore'] : []
      })
    : [],
  hasDrill
    ? [
        {
          name: drillVault!.name
          resourceGroup: drillVault!.resourceGroup
          subscriptionId: vaultSubscription(drillVault!, subscriptionId)
          appRoles: [roleGuids.drill]
          // The operators' kvbackup drill runs in the same scratch vault with the same role.
          operatorRoles: hasOperator ? [roleGuids.drill] : []
          accessModel: drillModel
          appPolicy: []
          operatorPolicy: []
        }
      ]
    : []
)

func vaultUrl(name string) string => 'https://${name}${environment().suffixes.keyvaultDns}'
// The cloud's Managed HSM suffix: .vault.azure.net -> .managedhsm.azure.net (azure.cn, usgovcloudapi.net alike).
func hsmUrl(name string) string => 'https://${name}${replace(environment().suffixes.keyvaultDns, '.vault.', '.managedhsm.')}'

resource rg 'Microsoft.Resources/resourceGroups@2025-04-01' = {
  name: 'rg-${environmentName}'
  location: location
  tags: tags
}

module roles 'modules/roles.bicep' = {
  name: 'kvbackup-roles-${environmentName}'
  params: {
    assignableScopes: assignableScopes
    roleNameSuffix: roleNameSuffix
    roleGuids: roleGuids
    enableRestore: enableRestore
    enableDrill: hasDrill
    enableDiscovery: hasDiscovery
    enableEventsDeployer: continuousProtection && hasDiscovery
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
    dnsServers: vnetDnsServers
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'kvbackup-monitoring'
  scope: rg
  params: {
    name: environmentName
    location: location
    tags: tags
    alertEmails: backsUpSomething ? alertRecipients : []
    runCompletedEvent: runCompletedEvent
    // The app names every vault and HSM it backs up, listed or discovered, in this hourly event.
    statusEvent: statusEvent
    deadManHours: deadManHours
    drills: hasDrill
    provenRestoreDays: provenRestoreDays
    eventsQueueName: eventsQueueName
    deadLetterContainerName: deadLetterContainerName
    eventsSubscriptionName: eventsSubscriptionName
    copyCompletedEvent: hasCopy ? copyCompletedEvent : ''
    copyMaxLagHours: copyMaxLagHours
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
var hostStorageName = 'sthost${token}'

// privateEndpoint mode: the blob/queue/table privatelink zones, shared by both storage accounts.
module storageDns 'modules/storageDns.bicep' = if (networkMode == 'privateEndpoint') {
  name: 'kvbackup-storage-dns'
  scope: rg
  params: {
    tags: tags
    vnetId: network.outputs.vnetId
    existingDnsZoneIds: {
      blob: privateDnsZones.?blob ?? ''
      queue: privateDnsZones.?queue ?? ''
      table: privateDnsZones.?table ?? ''
    }
  }
}
var storageZoneIds = networkMode == 'privateEndpoint' ? storageDns!.outputs.zoneIds : { blob: '', queue: '', table: '' }

// The Functions host's storage and deployment container first, then the app, then the roles: the
// order of the reference Flex Consumption templates (the site's deployment storage exists when the
// site is made).
module hostStorage 'modules/hostStorage.bicep' = {
  name: 'kvbackup-host-storage'
  scope: rg
  params: {
    name: hostStorageName
    location: location
    tags: tags
    networkMode: networkMode
    privateEndpointSubnetId: network.outputs.privateEndpointSubnetId
    zoneIds: storageZoneIds
  }
}

module app 'modules/functionApp.bicep' = {
  name: 'kvbackup-app'
  scope: rg
  params: {
    name: 'func-${environmentName}-${token}'
    location: location
    tags: union(tags, { 'azd-service-name': 'api' })
    functionSubnetId: network.outputs.functionSubnetId
    hostStorageName: hostStorage.outputs.name
    deploymentContainerUrl: hostStorage.outputs.deploymentContainerUrl
    insightsConnectionString: monitoring.outputs.insightsConnectionString
    insightsId: monitoring.outputs.insightsId
    userAssignedIdentityId: useUserAssignedIdentity ? identity!.outputs.id : ''
    userAssignedClientId: useUserAssignedIdentity ? identity!.outputs.clientId : ''
    userAssignedPrincipalId: useUserAssignedIdentity ? identity!.outputs.principalId : ''
    restoreAppClientId: authClientId
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    settings: union(
      {
        // name=URL: the cloud's own Key Vault DNS suffix (sovereign clouds included).
        BACKUP_VAULTS: join(map(vaults, v => '${v.name}=${vaultUrl(v.name)}'), ',')
        RESTORE_TARGET_VAULTS: join(map(restoreTargets, v => '${v.name}=${vaultUrl(v.name)}'), ',')
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
        BACKUP_SUBSCRIPTION_RATE_PER_10S: subscriptionRatePer10s
        BACKUP_INCREMENTAL: incremental ? 'true' : 'false'
        // This cloud's Resource Manager (sovereign clouds included), for discovery.
        BACKUP_ARM_ENDPOINT: environment().resourceManager
        // Always on: with restoreApi off (or restore disabled) there is no App Service
        // authentication, and the app then refuses every HTTP restore (AuthenticationNotEnabled).
        RESTORE_REQUIRE_ROLE: 'true'
      },
      hasDiscovery ? { BACKUP_SUBSCRIPTIONS: join(discoverySubscriptions, ',') } : {},
      hasDiscovery && !empty(discoveryVaultTag) ? { BACKUP_VAULT_TAG: discoveryVaultTag } : {},
      empty(managedHsms) ? {} : { BACKUP_MANAGED_HSMS: join(map(managedHsms, h => '${h.name}=${hsmUrl(h.name)}'), ',') },
      hasDrill
        ? { BACKUP_DRILL_VAULT: '${drillVault!.name}=${vaultUrl(drillVault!.name)}', BACKUP_DRILL_SCHEDULE: drillSchedule }
        : {},
      eventsFromVaults
        ? { BACKUP_EVENTS_QUEUE: eventsQueueName, BACKUP_EVENTS_DEADLETTER_CONTAINER: deadLetterContainerName }
        : {},
      hasCopy
        ? union(
            {
              BACKUP_COPY_BLOB_URI: copyBlobUri
              BACKUP_COPY_CONTAINER: empty(copyContainer) ? containerName : copyContainer
              BACKUP_COPY_MAX_LAG_HOURS: copyMaxLagHours
            },
            copyTenantSettings
          )
        : {}
    )
  }
}

module hostStorageAccess 'modules/hostStorageAccess.bicep' = {
  name: 'kvbackup-host-storage-access'
  scope: rg
  params: {
    accountName: hostStorage.outputs.name
    principalId: app.outputs.principalId
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
    zoneIds: storageZoneIds
    ipRules: storageIpRules
    bypass: effectiveBypass
    managedHsms: hsmResourceIds
    containerName: containerName
    inventoryTableName: inventoryTableName
    eventsQueueName: eventsQueueName
    deadLetterContainerName: deadLetterContainerName
    dailyRetentionDays: dailyRetentionDays
    weeklyRetentionDays: weeklyRetentionDays
    manualRetentionDays: manualRetentionDays
    previousVersionRetentionDays: previousVersionRetentionDays
    softDeleteDays: softDeleteDays
    immutabilityDays: immutabilityDays
    immutabilityLocked: lockImmutability
    deleteLock: backupStorageDeleteLock
    principalId: app.outputs.principalId
    operatorPrincipalId: operatorPrincipalId
    operatorPrincipalType: operatorPrincipalType
    logAnalyticsWorkspaceId: monitoring.outputs.workspaceId
  }
}

module copyEndpoint 'modules/copyEndpoint.bicep' = if (!empty(copyEndpointAccountId)) {
  name: 'kvbackup-copy-endpoint'
  scope: rg
  params: {
    location: location
    tags: tags
    copyAccountId: copyEndpointAccountId
    privateEndpointSubnetId: network.outputs.privateEndpointSubnetId
    blobZoneId: storageZoneIds.blob
  }
}

module vaultEndpoints 'modules/vaultEndpoints.bicep' = if (vaultPrivateEndpoints) {
  name: 'kvbackup-vault-endpoints'
  scope: rg
  params: {
    location: location
    tags: tags
    // Each vault once (a drill vault also listed as a backup vault would otherwise get two endpoints).
    vaults: union(
      map(vaultGrants, g => { name: toLower(g.name), resourceGroup: toLower(g.resourceGroup), subscriptionId: g.subscriptionId }),
      []
    )
    privateEndpointSubnetId: network.outputs.privateEndpointSubnetId
    vnetId: network.outputs.vnetId
    existingDnsZoneId: privateDnsZones.?vault ?? ''
    approval: vaultPrivateEndpointApproval
  }
}

// Each vault in its own subscription and resource group.
module vaultAccess 'modules/vaultAccess.bicep' = [
  for (g, i) in vaultGrants: {
    name: 'kvbackup-${environmentName}-${i}-${g.name}'
    scope: resourceGroup(g.subscriptionId, g.resourceGroup)
    params: {
      vaultName: g.name
      appPrincipalId: app.outputs.principalId
      appRoles: g.appRoles
      operatorPrincipalId: operatorPrincipalId
      operatorPrincipalType: operatorPrincipalType
      operatorRoles: g.operatorRoles
      accessModel: g.accessModel
      appPolicy: g.appPolicy
      operatorPolicy: g.operatorPolicy
    }
    dependsOn: [roles]
  }
]

module discoveryAccess 'modules/subscriptionAccess.bicep' = [
  for (s, i) in discoverySubscriptions: {
    name: 'kvbackup-${environmentName}-discovery-${i}'
    scope: subscription(s)
    params: {
      principalId: app.outputs.principalId
      roleGuids: discoveryGrantsBackup ? [roleGuids.discovery, roleGuids.backup] : [roleGuids.discovery]
      // The operators' kvbackup discover, and backup of a discovered vault, need the same.
      operatorPrincipalId: operatorPrincipalId
      operatorPrincipalType: operatorPrincipalType
    }
    dependsOn: [roles]
  }
]

// ---- continuous protection -----------------------------------------------------------------------

var backupAccount = { subscriptionId: subscriptionId, resourceGroup: rg.name, name: backupStorageName }

// Each listed vault, where it is (its location for its system topic).
resource listedVaults 'Microsoft.KeyVault/vaults@2025-05-01' existing = [
  for v in vaults: {
    name: v.name
    scope: resourceGroup(vaultSubscription(v, subscriptionId), v.resourceGroup)
  }
]

module eventsTopics 'modules/eventsTopic.bicep' = [
  for (v, i) in vaults: if (eventsFromVaults) {
    name: 'kvbackup-${environmentName}-ev-${i}-${v.name}'
    scope: resourceGroup(vaultSubscription(v, subscriptionId), v.resourceGroup)
    params: {
      vaultName: v.name
      existingTopicName: v.?eventsSystemTopic ?? ''
      location: listedVaults[i].location
      tags: tags
      backupAccount: backupAccount
      queueName: eventsQueueName
      deadLetterContainerName: deadLetterContainerName
      workspaceId: monitoring.outputs.workspaceId
    }
    // The queue and the dead-letter container exist before anything is given a role on them.
    dependsOn: [backupStorage]
  }
]

// Vaults found by discovery, now and later: a policy per discovery subscription (eventsPolicy.bicep says why a policy).
module eventsPolicies 'modules/eventsPolicy.bicep' = [
  for (s, i) in discoverySubscriptions: if (eventsFromVaults) {
    name: 'kvbackup-${environmentName}-eventspol-${i}'
    scope: subscription(s)
    params: {
      environmentName: environmentName
      location: location
      vaultTag: discoveryVaultTag
      backupSubscriptionId: subscriptionId
      backupResourceGroup: rg.name
      backupAccountName: backupStorageName
      queueName: eventsQueueName
      deadLetterContainerName: deadLetterContainerName
      subscriptionName: eventsSubscriptionName
      subscriptionProperties: eventsSubscriptionProperties(
        resourceId(subscriptionId, rg.name, 'Microsoft.Storage/storageAccounts', backupStorageName),
        eventsQueueName,
        deadLetterContainerName
      )
      deployerRoleGuid: roleGuids.eventsDeployer
    }
    dependsOn: [roles, backupStorage]
  }
]

output AZURE_RESOURCE_GROUP string = rg.name
output FUNCTION_APP_NAME string = app.outputs.name
output FUNCTION_APP_HOST string = app.outputs.defaultHostName
output FUNCTION_PRINCIPAL_ID string = app.outputs.principalId
// The app's tenant: with FUNCTION_PRINCIPAL_ID, what the isolated copy's owners deploy infra/copy with.
output FUNCTION_TENANT_ID string = tenant().tenantId
output BACKUP_STORAGE_ACCOUNT string = backupStorage.outputs.name
output FUNCTION_SUBNET_ID string = network.outputs.functionSubnetId
// The private endpoint to the isolated copy ('' without one): its owners approve this one.
output COPY_PRIVATE_ENDPOINT_ID string = empty(copyEndpointAccountId) ? '' : copyEndpoint!.outputs.id
// The custom roles this deployment created ('' when not created): assign them by these names.
output BACKUP_ROLE_NAME string = roles.outputs.backupRoleName
output RESTORE_ROLE_NAME string = roles.outputs.restoreRoleName
output DRILL_ROLE_NAME string = roles.outputs.drillRoleName
output DISCOVERY_ROLE_NAME string = roles.outputs.discoveryRoleName
output EVENTS_DEPLOYER_ROLE_NAME string = roles.outputs.eventsDeployerRoleName
// The events policy's assignment per discovery subscription (az policy remediation create --policy-assignment <id>).
output EVENTS_POLICY_ASSIGNMENTS string[] = [
  for (s, i) in (eventsFromVaults ? discoverySubscriptions : []): eventsPolicies[i]!.outputs.assignmentId
]
// The app's role in each HSM's local RBAC (data plane: no ARM resource can assign it).
output HSM_ROLE_COMMANDS string[] = map(managedHsms, h => 'az keyvault role assignment create --hsm-name ${h.name} --role "Managed HSM Backup" --assignee-object-id ${app.outputs.principalId} --assignee-principal-type ServicePrincipal --scope /')
