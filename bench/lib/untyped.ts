/**
 * Import a package that ships no type declarations, under a type the caller
 * states. The specifier is a variable on purpose: the bench must not depend
 * on declarations other parts of the project may or may not add.
 */
export const importUntyped = async <T>(specifier: string): Promise<T> => (await import(specifier)) as T
