import { inlineParameters } from '../../src/db/inline-sql';

describe('inlineParameters', () => {
  it('writes numbers, escaped strings and arrays in place of $n, $10 not read as $1', () => {
    const params = [3, "it's", [1, 2], ['Film-Noir', "Children's"], [], 6, 7, 8, 9, 0.25];
    const sql = 'SELECT $1, $2, $3::int[], $4::text[], $5::int[], $10';
    expect(inlineParameters(sql, params)).toBe(
      "SELECT 3, 'it''s', '{1,2}'::int[], ARRAY['Film-Noir','Children''s']::text[], '{}'::int[], 0.25",
    );
    // pg's escapeLiteral writes a backslash as an E'' string, with a leading space.
    expect(inlineParameters('SELECT $1', ['back\\slash'])).toBe("SELECT  E'back\\\\slash'");
  });

  it('refuses what it cannot write safely', () => {
    expect(() => inlineParameters('SELECT $1', [NaN])).toThrow(RangeError);
    expect(() => inlineParameters('SELECT $1', [Infinity])).toThrow(RangeError);
    expect(() => inlineParameters('SELECT $2', [1])).toThrow('$2 has no parameter');
    expect(() => inlineParameters('SELECT $1', [{ id: 1 }])).toThrow(TypeError);
    expect(() => inlineParameters('SELECT $1', [[1, 'a']])).toThrow(TypeError);
    expect(() => inlineParameters('SELECT $1', [null])).toThrow(TypeError);
  });
});
