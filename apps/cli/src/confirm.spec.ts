import { confirmDestructive } from './confirm.js';
import { CliCodes } from './errors/cli-error.js';
import { fakeIo } from './testing/fake-io.js';

describe(confirmDestructive.name, () => {
  it('--yes goes ahead without asking', async () => {
    const io = fakeIo();
    await confirmDestructive(io, true, 'revoke token x');
    expect(io.questions).toEqual([]);
  });

  it('without a terminal and without --yes it refuses, naming --yes, and never waits on a prompt', async () => {
    const io = fakeIo({ stdinTty: false });
    await expect(confirmDestructive(io, undefined, 'run an emergency rollback')).rejects.toMatchObject({ code: CliCodes.notConfirmed, message: expect.stringContaining('--yes') });
    expect(io.questions).toEqual([]);
  });

  it('on a terminal it asks; only y or yes goes ahead', async () => {
    const yes = fakeIo({ stdinTty: true, answers: ['Y'] });
    await confirmDestructive(yes, undefined, 'roll back canary c1');
    expect(yes.questions).toEqual(['roll back canary c1? [y/N] ']);
    for (const answer of ['', 'n', 'nope']) {
      await expect(confirmDestructive(fakeIo({ stdinTty: true, answers: [answer] }), false, 'revoke token x')).rejects.toMatchObject({ code: CliCodes.notConfirmed });
    }
  });
});
