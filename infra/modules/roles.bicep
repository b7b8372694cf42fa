targetScope = 'subscription'

@description('Scopes (subscription or resource group ids) where the custom roles may be assigned: every vault\'s resource group.')
param assignableScopes array

@description('Create the restore role too.')
param enableRestore bool

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

resource backupOperator 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(subscription().id, 'kvbackup', 'Key Vault Backup Operator')
  properties: {
    roleName: 'Key Vault Backup Operator'
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
  name: guid(subscription().id, 'kvbackup', 'Key Vault Restore Operator')
  properties: {
    roleName: 'Key Vault Restore Operator'
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

output backupOperatorRoleId string = backupOperator.id
output restoreOperatorRoleId string = enableRestore ? restoreOperator.id : ''
