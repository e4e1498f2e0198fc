import { cellText, renderFields, renderTable } from './table.js';

describe(renderTable.name, () => {
  it('aligns columns under capitalised headings, two spaces apart, without trailing blanks', () => {
    const rows = [
      { key: 'checkout', version: 12, on: true },
      { key: 'a', version: 3, on: false },
    ];
    const text = renderTable(
      [
        { header: 'key', value: (r: (typeof rows)[number]) => r.key },
        { header: 'version', value: (r) => r.version },
        { header: 'on', value: (r) => r.on },
      ],
      rows,
    );
    expect(text).toBe('KEY       VERSION  ON\ncheckout  12       true\na         3        false\n');
  });

  it('prints only the headings for no rows, and keeps each row on one line', () => {
    expect(renderTable([{ header: 'id', value: () => 'x' }], [])).toBe('ID\n');
    expect(renderTable([{ header: 'reason', value: (r: string) => r }], ['two\nlines'])).toBe('REASON\ntwo lines\n');
  });
});

describe(renderFields.name, () => {
  it('aligns labels and leaves out empty values', () => {
    expect(renderFields([['Key', 'checkout'], ['Description', undefined], ['Version', 3], ['Tags', ['a', 'b']]])).toBe('Key:      checkout\nVersion:  3\nTags:     a,b\n');
  });
});

describe(cellText.name, () => {
  it('shows nothing for null, lists of scalars joined, objects as JSON', () => {
    expect([cellText(null), cellText(undefined), cellText([1, 'a']), cellText({ a: 1 }), cellText([{ a: 1 }])]).toEqual(['', '', '1,a', '{"a":1}', '[{"a":1}]']);
  });
});
