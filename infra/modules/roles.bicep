targetScope = 'subscription'

@description('Scopes where the custom roles may be assigned: every subscription that holds a vault, a restore target, the drill vault or a discovery subscription (and this one).')
param assignableScopes string[]

@description('Appended to every role name in parentheses: custom role names are unique per tenant, so each deployment needs its own (the environment name by default).')
param roleNameSuffix string

@description('Role definition GUIDs (the roleDefinitions\' names), chosen by main.bicep so that the assignments need not wait on this module\'s outputs: { backup, restore, drill, discovery }.')
param roleGuids { backup: string, restore: string, drill: string, discovery: string, eventsDeployer: string }

@description('Create the restore role too.')
param enableRestore bool

@description('Create the restore drill role (a drill vault is configured).')
param enableDrill bool

@description('Create the discovery role (discovery subscriptions are configured).')
param enableDiscovery bool

@description('Create the events deployer role (continuous protection with discovery: the policy\'s identity).')
param enableEventsDeployer bool

// Exactly what a backup needs: list metadata and back up. Never getSecret: the backup identity
// cannot read a secret value.
var backupDataActions = [
  'Microsoft.KeyVault/vaults/secrets/readMetadata/action'
  'Microsoft.KeyVault/vaults/secrets/backup/action'
  'Microsoft.KeyVault/vaults/keys/read'
  'Microsoft.KeyVault/vaults/keys/backup/action'
  'Microsoft.KeyVault/vaults/certificates/read'
  'Microsoft.KeyVault/vaults/certificates/backup/action'
]

// Restore needs the restore actions, plus listing (active and deleted objects) to plan.
var restoreDataActions = [
  'Microsoft.KeyVault/vaults/secrets/readMetadata/action'
  'Microsoft.KeyVault/vaults/secrets/restore/action'
  'Microsoft.KeyVault/vaults/keys/read'
  'Microsoft.KeyVault/vaults/keys/restore/action'
  'Microsoft.KeyVault/vaults/certificates/read'
  'Microsoft.KeyVault/vaults/certificates/restore/action'
]

// The restore drill restores the latest run into an empty scratch vault, compares what it can see
// (metadata; keys/read also returns a key's public material), then deletes and purges what it
// restored. Still never getSecret: a drill compares secrets by metadata, not by value.
var drillDataActions = [
  'Microsoft.KeyVault/vaults/secrets/readMetadata/action'
  'Microsoft.KeyVault/vaults/secrets/restore/action'
  'Microsoft.KeyVault/vaults/secrets/delete'
  'Microsoft.KeyVault/vaults/secrets/purge/action'
  'Microsoft.KeyVault/vaults/keys/read'
  'Microsoft.KeyVault/vaults/keys/restore/action'
  'Microsoft.KeyVault/vaults/keys/delete'
  'Microsoft.KeyVault/vaults/keys/purge/action'
  'Microsoft.KeyVault/vaults/certificates/read'
  'Microsoft.KeyVault/vaults/certificates/restore/action'
  'Microsoft.KeyVault/vaults/certificates/delete'
  'Microsoft.KeyVault/vaults/certificates/purge/action'
]

// Discovery lists the vaults (with their tags) of a subscription through Azure Resource Manager.
// Only that: the built-in Reader would also let the app read every other resource's
// configuration in the subscription.
var discoveryActions = [
  'Microsoft.KeyVault/vaults/read'
]

// Continuous protection for discovered vaults: the policy's remediation deploys, into the backup
// account's resource group, the role assignments of each new system topic (a nested deployment: an
// ARM deployment cannot make an extension resource in another resource group). Deploying is all
// this role allows: a deployment does only what its caller may do resource by resource, and there
// the caller may only assign two roles, on the events queue and the dead-letter container
// (eventsPolicyAccess.bicep). No built-in role is that narrow (EventGrid Contributor, which has
// deployments/*, would also let it make Event Grid subscriptions on the backup account itself).
var eventsDeployerActions = [
  'Microsoft.Resources/deployments/read'
  'Microsoft.Resources/deployments/write'
  'Microsoft.Resources/deployments/validate/action'
  'Microsoft.Resources/deployments/operations/read'
  'Microsoft.Resources/deployments/operationstatuses/read'
  'Microsoft.Resources/subscriptions/resourceGroups/read'
]

var names = {
  backup: 'Key Vault Backup Operator (${roleNameSuffix})'
  restore: 'Key Vault Restore Operator (${roleNameSuffix})'
  drill: 'Key Vault Restore Drill Operator (${roleNameSuffix})'
  discovery: 'Key Vault Discovery Reader (${roleNameSuffix})'
  eventsDeployer: 'Key Vault Events Deployer (${roleNameSuffix})'
}

resource backupOperator 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: roleGuids.backup
  properties: {
    roleName: names.backup
    description: 'kvbackup: list and back up secrets, keys and certificates. Cannot read secret values.'
    type: 'CustomRole'
    assignableScopes: assignableScopes
    permissions: [
      {
        actions: []
        notActions: []
        dataActions: backupDataActions
        notDataActions: []
      }
    ]
  }
}

resource restoreOperator 'Microsoft.Authorization/roleDefinitions@2022-04-01' = if (enableRestore) {
  name: roleGuids.restore
  properties: {
    roleName: names.restore
    description: 'kvbackup: restore secrets, keys and certificates from backups, and list what a vault holds to plan it.'
    type: 'CustomRole'
    assignableScopes: assignableScopes
    permissions: [
      {
        actions: []
        notActions: []
        dataActions: restoreDataActions
        notDataActions: []
      }
    ]
  }
}

resource drillOperator 'Microsoft.Authorization/roleDefinitions@2022-04-01' = if (enableDrill) {
  name: roleGuids.drill
  properties: {
    roleName: names.drill
    description: 'kvbackup restore drill: restore into the scratch vault, list and compare metadata and public key material, then delete and purge. Cannot read secret values.'
    type: 'CustomRole'
    assignableScopes: assignableScopes
    permissions: [
      {
        actions: []
        notActions: []
        dataActions: drillDataActions
        notDataActions: []
      }
    ]
  }
}

resource discoveryReader 'Microsoft.Authorization/roleDefinitions@2022-04-01' = if (enableDiscovery) {
  name: roleGuids.discovery
  properties: {
    roleName: names.discovery
    description: 'kvbackup discovery: list the Key Vaults (and their tags) of a subscription. Nothing else.'
    type: 'CustomRole'
    assignableScopes: assignableScopes
    permissions: [
      {
        actions: discoveryActions
        notActions: []
        dataActions: []
        notDataActions: []
      }
    ]
  }
}

resource eventsDeployer 'Microsoft.Authorization/roleDefinitions@2022-04-01' = if (enableEventsDeployer) {
  name: roleGuids.eventsDeployer
  properties: {
    roleName: names.eventsDeployer
    description: 'kvbackup continuous protection: the Azure Policy identity deploys the role assignments of new Event Grid system topics into the backup account\'s resource group. Deployments only; what a deployment may do is the caller\'s other roles.'
    type: 'CustomRole'
    assignableScopes: assignableScopes
    permissions: [
      {
        actions: eventsDeployerActions
        notActions: []
        dataActions: []
        notDataActions: []
      }
    ]
  }
}

// The names, as deployed: what `az role assignment create --role` and the portal show.
output backupRoleName string = names.backup
output restoreRoleName string = enableRestore ? names.restore : ''
output drillRoleName string = enableDrill ? names.drill : ''
output discoveryRoleName string = enableDiscovery ? names.discovery : ''
output eventsDeployerRoleName string = enableEventsDeployer ? names.eventsDeployer : ''
