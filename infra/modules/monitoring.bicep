param name string
param location string
param tags object

@description('Email addresses that get the alerts.')
param alertEmails array

@description('The event the app emits at the end of every run (src/telemetry/telemetry.ts: RunCompletedEvent).')
param runCompletedEvent string

@description('Vault names that must each have a successful run within deadManHours.')
param vaultNames array

@description('Hours without a successful run of a vault before the dead man\'s switch fires.')
param deadManHours int

@description('The restore drill\'s event (KeyVaultRestoreDrillCompleted).')
param drillCompletedEvent string

@description('Vaults the restore drill proves (empty: no drill vault, no alert).')
param drilledVaultNames array

@description('Days without a proven restore before the alert fires.')
param provenRestoreDays int

resource workspace 'Microsoft.OperationalInsights/workspaces@2025-07-01' = {
  name: 'log-${name}'
  location: location
  tags: tags
  properties: {
    sku: { name: 'PerGB2018' }
    retentionInDays: 90
  }
}

resource insights 'Microsoft.Insights/components@2020-02-02' = {
  name: 'appi-${name}'
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    // Only Entra ID (the app's identity, with Monitoring Metrics Publisher) may send telemetry.
    DisableLocalAuth: true
  }
}

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: 'ag-${name}'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'kvbackup'
    enabled: true
    emailReceivers: [
      for (email, i) in alertEmails: {
        name: 'email-${i}'
        emailAddress: email
        useCommonAlertSchema: true
      }
    ]
  }
}

var failedRunsQuery = 'customEvents | where name == "${runCompletedEvent}" | extend status = tostring(customDimensions.status), vault = tostring(customDimensions.vault), runId = tostring(customDimensions.runId), firstFailureCode = tostring(customDimensions.firstFailureCode) | where status in ("failed", "partial", "abandoned") | project timestamp, vault, runId, status, firstFailureCode'

var deadManQuery = 'let vaults = dynamic(${string(vaultNames)}); let ok = customEvents | where timestamp > ago(${deadManHours}h) | where name == "${runCompletedEvent}" | where tostring(customDimensions.status) == "succeeded" | distinct vault = tostring(customDimensions.vault); print vault = vaults | mv-expand vault to typeof(string) | join kind=leftanti ok on vault'

resource failedRuns 'Microsoft.Insights/scheduledQueryRules@2026-03-01' = {
  name: 'alert-${name}-failed-runs'
  location: location
  tags: tags
  properties: {
    displayName: 'kvbackup: a backup run failed, was partial or was abandoned'
    severity: 2
    enabled: true
    scopes: [insights.id]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT15M'
    criteria: {
      allOf: [
        {
          query: failedRunsQuery
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: { numberOfEvaluationPeriods: 1, minFailingPeriodsToAlert: 1 }
        }
      ]
    }
    actions: { actionGroups: [actionGroup.id] }
  }
}

resource deadMan 'Microsoft.Insights/scheduledQueryRules@2026-03-01' = {
  name: 'alert-${name}-no-success'
  location: location
  tags: tags
  properties: {
    displayName: 'kvbackup: a vault has had no successful backup in ${deadManHours} h'
    severity: 1
    enabled: true
    scopes: [insights.id]
    evaluationFrequency: 'PT1H'
    windowSize: 'P2D'
    criteria: {
      allOf: [
        {
          query: deadManQuery
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: { numberOfEvaluationPeriods: 1, minFailingPeriodsToAlert: 1 }
        }
      ]
    }
    actions: { actionGroups: [actionGroup.id] }
  }
}

var noProvenRestoreQuery = 'let vaults = dynamic(${string(drilledVaultNames)}); let ok = customEvents | where timestamp > ago(${provenRestoreDays}d) | where name == "${drillCompletedEvent}" | where tostring(customDimensions.status) == "succeeded" | distinct vault = tostring(customDimensions.vault); print vault = vaults | mv-expand vault to typeof(string) | join kind=leftanti ok on vault'

// A backup nobody has restored is a hope: no drill proved a restore of a vault in provenRestoreDays.
resource noProvenRestore 'Microsoft.Insights/scheduledQueryRules@2026-03-01' = if (!empty(drilledVaultNames)) {
  name: 'alert-${name}-no-proven-restore'
  location: location
  tags: tags
  properties: {
    displayName: 'kvbackup: a vault has had no restore proven by a drill in ${provenRestoreDays} days'
    severity: 2
    enabled: true
    scopes: [insights.id]
    evaluationFrequency: 'P1D'
    windowSize: 'P1D'
    // The query looks back provenRestoreDays itself; the rule must let it see that far.
    overrideQueryTimeRange: 'P${provenRestoreDays + 1}D'
    criteria: {
      allOf: [
        {
          query: noProvenRestoreQuery
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: { numberOfEvaluationPeriods: 1, minFailingPeriodsToAlert: 1 }
        }
      ]
    }
    actions: { actionGroups: [actionGroup.id] }
  }
}

output workspaceId string = workspace.id
output insightsId string = insights.id
output insightsConnectionString string = insights.properties.ConnectionString
