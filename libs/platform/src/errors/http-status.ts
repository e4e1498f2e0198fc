// The code → status rule lives beside the codes in the contracts lib (the CLI maps exit codes with it too).
export { httpStatusOf } from '#rollgate/contracts';
