import { detectFormat } from '../../src/domain/formats';

const detect = (text: string, name = 'upload.txt') => detectFormat(Buffer.from(text), name).format;

describe('text formats told apart by their bytes', () => {
  it('takes rows with the same separators under a header of cells as CSV', () => {
    expect(detect('name,city,founded\nEdda Lindqvist,Harwick,1987\nTormod Vallance,Skerrow,1994\n')).toBe('csv');
    expect(detect('name;city\nEdda;Harwick\nTormod;Skerrow\n')).toBe('csv');
    // A quoted field may hold a whole sentence, commas included.
    expect(detect('id,description\n1,"The society restores ship lanterns, and keeps 214 of them in its museum."\n2,"A second, longer note about the harbour and its cranes."\n')).toBe('csv');
  });

  it('takes paragraphs whose sentences happen to hold the same number of commas as text', () => {
    const prose = Array.from({ length: 6 }, (_, i) => `Paragraph ${i} of the Ostrand harbour chronicle tells of ferries, lanterns and tides in considerable detail, year after year.`).join('\n\n');
    expect(detect(prose)).toBe('text');
  });
});
