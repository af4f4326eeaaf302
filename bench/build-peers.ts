// Bundles each peer with esbuild using the same options as `npm run build` uses for the
// service, so cold start and memory compare bundle against bundle.
import { resolve } from 'node:path';

import { build } from 'esbuild';

import { PEER_BUILD_DIR, PEER_SOURCES } from './targets.ts';

// Same banner as the service build: bundled CommonJS packages call require().
const REQUIRE_BANNER =
  "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);";

/** Writes PEER_BUILD_DIR/NAME.js for every peer. */
export async function buildPeers(): Promise<void> {
  const peersDir = resolve(import.meta.dirname, 'peers');
  for (const [name, source] of Object.entries(PEER_SOURCES)) {
    await build({
      entryPoints: [resolve(peersDir, source)],
      outfile: resolve(PEER_BUILD_DIR, `${name}.js`),
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node24',
      sourcemap: true,
      legalComments: 'none',
      banner: { js: REQUIRE_BANNER },
      logLevel: 'warning',
    });
  }
}
