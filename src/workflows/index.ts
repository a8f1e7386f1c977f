// The worker bundles this file: workflow code only, no I/O, no Node built-ins.
export { systemCheck, type SystemCheckInput } from './system-check';
