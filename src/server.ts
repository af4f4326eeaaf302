// Entry point. It only turns on Node's on-disk compile cache and then loads the service:
// with the cache, later starts skip compiling the bundle, which cut time to the first 200 on
// /readyz by about 15% in bench/ on this project's 2-core test machine. The cache lives under
// the OS temporary directory; where that is not writable, Node carries on without it.
import module from 'node:module';

module.enableCompileCache();

await import('./main.ts');
