/**
 * Who the calls were made as, read from the token the credential got (for people: doctor prints
 * it, /api/health returns it). Never the token itself.
 */
export interface SignedIn {
  /** The credential that got the token: "AzureCliCredential", "ManagedIdentityCredential", ... */
  via: string;
  /** "user" (a person signed in) or "app" (a managed identity or a service principal). */
  kind: "user" | "app";
  /** The object id of the principal, and its tenant. */
  oid?: string;
  tenant?: string;
  /** The user's sign-in name, or the app's client id. */
  name?: string;
}
