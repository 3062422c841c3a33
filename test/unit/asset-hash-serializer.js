/** Masks CDK asset hashes in snapshots, so that a change of bundled code does not churn them. */
const HASH = /[0-9a-f]{64}/g;

module.exports = {
  test: (val) => typeof val === 'string' && /[0-9a-f]{64}/.test(val),
  serialize: (val) => JSON.stringify(val.replace(HASH, '[ASSET HASH]')),
};
