// The isolated copy (docs/isolated-copy.md): a storage account that the copy's OWNERS deploy in their
// own subscription (optionally their own tenant), into which the kvbackup app may only read and add
// new blobs. Deployed on its own, not by azd and not by infra/main.bicep:
//   az deployment group create -g <copy-rg> -f infra/copy/main.bicep -p infra/copy/main.bicepparam
// Nothing here trusts the app's deployers: the app gets one custom role on one container, the
// container keeps every version for immutabilityDays (locked by the owners, by hand, once), and the
// account carries a delete lock.

@description('Region of the copy account: the same Azure geography as the backup account (data residency), another region if you like.')
param location string = resourceGroup().location

@description('Name of the copy storage account (3-24 lower-case letters and digits, globally unique).')
@minLength(3)
@maxLength(24)
param accountName string = 'stkvbcopy${uniqueString(resourceGroup().id)}'

@allowed(['Standard_LRS', 'Standard_ZRS', 'Standard_GRS', 'Standard_GZRS', 'Standard_RAGRS', 'Standard_RAGZRS'])
param skuName string = 'Standard_GZRS'

@description('Object id of the principal the app writes the copy as: the app\'s managed identity (FUNCTION_PRINCIPAL_ID output of infra/main.bicep) when the copy is in the app\'s tenant; in another tenant, the object id of the service principal that the app\'s multi-tenant app registration has in THIS tenant (docs/isolated-copy.md, "Cross-tenant").')
@minLength(36)
@maxLength(36)
param appPrincipalId string

@description('Always a service principal: a managed identity, or the app registration\'s service principal in this tenant.')
@allowed(['ServicePrincipal'])
param appPrincipalType string = 'ServicePrincipal'

@description('Tenant id of the kvbackup app (FUNCTION_TENANT_ID output of infra/main.bicep). Equal to this deployment\'s tenant: the copy\'s sources are restricted to this tenant (allowedCopyScope AAD). Another tenant: no restriction can be set (see restrictCopySources).')
@minLength(36)
@maxLength(36)
param appTenantId string

@description('privateEndpoint: public network access is disabled; the app\'s deployers create a private endpoint to this account in the app\'s VNet (infra/main.bicep with copyAccountId, networkMode privateEndpoint) and you approve it. virtualNetworkRule: the firewall admits the app\'s Function subnet (service endpoint Microsoft.Storage; networkMode serviceEndpoint on the app\'s side).')
@allowed(['privateEndpoint', 'virtualNetworkRule'])
param networkMode string

@description('virtualNetworkRule mode: resource id of the app\'s Function subnet (FUNCTION_SUBNET_ID output of infra/main.bicep). It may be in another subscription or tenant.')
param functionSubnetId string = ''

@description('The container the app copies into (BACKUP_COPY_CONTAINER on the app\'s side; kvbackup\'s default is its BACKUP_CONTAINER, keyvault-backups).')
@minLength(3)
@maxLength(63)
param containerName string = 'keyvault-backups'

@description('Every blob version in the container is immutable (no delete, no overwrite, by anyone) for this many days after it was written. The template creates the policy Unlocked; lock it afterwards (LOCK_IMMUTABILITY_COMMAND output).')
@minValue(1)
@maxValue(3650)
param immutabilityDays int = 30

@description('Lifecycle: blobs and their versions are deleted this many days after they were written. At least immutabilityDays: a delete before the immutability period ends is refused.')
@minValue(1)
param retentionDays int = 90

@description('Blob and container soft delete, days.')
@minValue(1)
@maxValue(365)
param softDeleteDays int = 14

@description('Blob change feed: a log of every change to the account\'s blobs, for audits.')
param changeFeed bool = false

@description('Same tenant only: restrict the sources of server-side copies into this account to accounts of this tenant (allowedCopyScope AAD, a preview setting). Ignored when appTenantId is another tenant: AAD would refuse the app\'s copies from its backup account there.')
param restrictCopySources bool = true

@description('Appended to the role name, "Key Vault Backup Copy Writer (<suffix>)": custom role names are unique per tenant.')
@minLength(1)
@maxLength(60)
param roleNameSuffix string = accountName

param tags object = { app: 'kvbackup-copy' }

var privateEndpointMode = networkMode == 'privateEndpoint'
var subnetRule = !privateEndpointMode && empty(functionSubnetId)
  ? fail('networkMode virtualNetworkRule needs functionSubnetId: the resource id of the app\'s Function subnet (FUNCTION_SUBNET_ID output of the kvbackup deployment)')
  : functionSubnetId
var retention = retentionDays < immutabilityDays
  ? fail('retentionDays (${retentionDays}) is shorter than immutabilityDays (${immutabilityDays}): the lifecycle rule could not delete a blob that is still immutable; set retentionDays >= immutabilityDays')
  : retentionDays
var sameTenant = toLower(appTenantId) == toLower(tenant().tenantId)

// src/domain/permissions.ts, CopyWriterRole: read, and add a blob that does not exist yet (add/action
// never overwrites). test/infra/copy.test.ts holds the two together, and checks that nothing of
// CopyNeverGranted (write, delete, version delete, permanent delete, immutability super-user) is here.
var copyWriterDataActions = [
  'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read'
  'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action'
]
var roleName = 'Key Vault Backup Copy Writer (${roleNameSuffix})'

resource account 'Microsoft.Storage/storageAccounts@2025-06-01' = {
  name: accountName
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: { name: skuName }
  properties: {
    accessTier: 'Hot'
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    // The app's Put Blob From URL reads its source in the backup account, in the app's tenant: AAD
    // (same tenant only) would refuse that from another tenant, so the scope is left unset there.
    allowedCopyScope: restrictCopySources && sameTenant ? 'AAD' : null
    publicNetworkAccess: privateEndpointMode ? 'Disabled' : 'Enabled'
    networkAcls: {
      defaultAction: 'Deny'
      // The app writes over its own network path; no "trusted Microsoft service" writes here.
      bypass: 'None'
      virtualNetworkRules: privateEndpointMode ? [] : [{ id: subnetRule, action: 'Allow' }]
      ipRules: []
    }
  }
}

// Nobody deletes the copy by deleting the account or its resource group: removed on purpose first.
resource lock 'Microsoft.Authorization/locks@2020-05-01' = {
  name: 'kvbackup-copy-do-not-delete'
  scope: account
  properties: {
    level: 'CanNotDelete'
    notes: 'kvbackup isolated copy: the Key Vault backups\' copy lives here. Remove this lock on purpose before deleting the account.'
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2025-06-01' = {
  parent: account
  name: 'default'
  properties: {
    // Version-level immutability on the container needs versioning on the account first.
    isVersioningEnabled: true
    changeFeed: { enabled: changeFeed }
    deleteRetentionPolicy: { enabled: true, days: softDeleteDays }
    containerDeleteRetentionPolicy: { enabled: true, days: softDeleteDays }
  }
}

resource container 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-06-01' = {
  parent: blobService
  name: containerName
  properties: {
    publicAccess: 'None'
    // Can only be switched on when the container is created.
    immutableStorageWithVersioning: { enabled: true }
  }
}

// The container's default version-level retention: every version written is kept immutabilityDays.
// Created Unlocked: a policy is locked by a separate call that needs its etag (no template property
// does it), and a locked policy can never be shortened or removed — so it is locked by hand, once,
// after the first copy has been checked (LOCK_IMMUTABILITY_COMMAND).
resource immutability 'Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies@2025-06-01' = {
  parent: container
  name: 'default'
  properties: {
    immutabilityPeriodSinceCreationInDays: immutabilityDays
    allowProtectedAppendWrites: false
  }
}

resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2025-06-01' = {
  parent: account
  name: 'default'
  properties: {
    policy: {
      rules: [
        {
          name: 'delete-after-retention'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: { blobTypes: ['blockBlob'], prefixMatch: ['${containerName}/'] }
            actions: {
              baseBlob: { delete: { daysAfterModificationGreaterThan: retention } }
              version: { delete: { daysAfterCreationGreaterThan: retention } }
            }
          }
        }
      ]
    }
  }
  dependsOn: [container]
}

// Custom roles can be made assignable at a management group, subscription or resource group: this
// resource group, the narrowest. The assignment itself is on the container only.
resource copyWriter 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(resourceGroup().id, 'kvbackup', 'Key Vault Backup Copy Writer', roleNameSuffix)
  properties: {
    roleName: roleName
    description: 'kvbackup isolated copy: read blobs and add new ones. Never overwrite, delete, delete a version or bypass immutability.'
    type: 'CustomRole'
    assignableScopes: [resourceGroup().id]
    permissions: [
      {
        actions: []
        notActions: []
        dataActions: copyWriterDataActions
        notDataActions: []
      }
    ]
  }
}

// A role definition lives in the subscription whatever the deployment's scope: named by its
// subscription-level id (copyWriter.id would carry this resource group in it).
var copyWriterId = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', copyWriter.name)

resource appOnContainer 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(container.id, appPrincipalId, copyWriterId)
  scope: container
  properties: {
    principalId: appPrincipalId
    principalType: appPrincipalType
    roleDefinitionId: copyWriterId
  }
}

var rg = resourceGroup().name

@description('The app\'s BACKUP_COPY_BLOB_URI (azd env set KVBACKUP_COPY_BLOB_URI <this> on the app\'s side).')
output COPY_BLOB_URI string = account.properties.primaryEndpoints.blob
@description('The copy account\'s resource id (azd env set KVBACKUP_COPY_ACCOUNT_ID <this> on the app\'s side, privateEndpoint mode).')
output COPY_ACCOUNT_ID string = account.id
output COPY_CONTAINER string = containerName
output COPY_WRITER_ROLE_NAME string = roleName
@description('Run once, after the first copy has been checked: locks the container\'s immutability policy. Irreversible: it can then only be extended.')
output LOCK_IMMUTABILITY_COMMAND string = 'az storage container immutability-policy lock --resource-group ${rg} --account-name ${accountName} --container-name ${containerName} --if-match "$(az storage container immutability-policy show --resource-group ${rg} --account-name ${accountName} --container-name ${containerName} --query etag --output tsv)"'
@description('privateEndpoint mode: the app\'s endpoint is a request you approve (list, then approve by id).')
output APPROVE_ENDPOINT_COMMANDS string[] = privateEndpointMode
  ? [
      'az network private-endpoint-connection list --id ${account.id} --query "[?properties.privateLinkServiceConnectionState.status==\'Pending\'].{id:id, endpoint:properties.privateEndpoint.id}" --output table'
      'az network private-endpoint-connection approve --id <connection-id> --description "kvbackup isolated copy"'
    ]
  : []
