// What a careless or hostile client sends, and the refusal the spec names.
export async function hostile () {}
