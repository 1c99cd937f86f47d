import { describe, expect, it } from 'vitest';
import { encodeForm, parseForm } from './form.ts';

describe('parseForm', () => {
  it('reads indexed brackets as arrays and named brackets as objects, as the SDK encodes them', () => {
    const body = encodeForm({
      items: [{ price: 'price_1', quantity: 2 }, { price: 'price_2' }],
      metadata: { a: 'b' },
      expand: ['x', 'y.z'],
    });
    expect(parseForm(body)).toEqual({
      items: [{ price: 'price_1', quantity: '2' }, { price: 'price_2' }],
      metadata: { a: 'b' },
      expand: ['x', 'y.z'],
    });
  });

  it('keeps "" (unset) and decodes + and percent escapes', () => {
    expect(parseForm('description=&name=Ada+L%C3%B6velace&email=a%2Bb%40x.io')).toEqual({
      description: '',
      name: 'Ada Lövelace',
      email: 'a+b@x.io',
    });
  });

  it('accepts `a[]=` appends and ignores prototype keys', () => {
    const parsed = parseForm('expand[]=a&expand[]=b&__proto__[x]=1&constructor[prototype][y]=2');
    expect(parsed).toEqual({ expand: ['a', 'b'] });
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });
});
