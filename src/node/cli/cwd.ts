/**
 * The directory the user ran webprog from. `npm run webprog` runs scripts from the package root and
 * leaves the user's directory in INIT_CWD; anywhere else (the bin, npx) the process cwd is it.
 */
export function userCwd(): string {
  const viaNpmScript = process.env.npm_lifecycle_event === 'webprog' && process.env.INIT_CWD;
  return viaNpmScript ? process.env.INIT_CWD! : process.cwd();
}
