// Setup of the webgpu-all run (vitest.webgpu.config.mts): every test file, also those that load
// only part of the library, gets the WebGPU backend registered, and PRIMAL_BACKEND=webgpu (set
// by the config) makes webgpu:0 the default device, so every array the tests make lives there.
import "../../kernel/backends/cpu/cpu-backend";
import "../../kernel/backends/webgpu/webgpu-backend";
