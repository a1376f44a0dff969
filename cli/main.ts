// Placeholder until the CLI lands.
console.log('kyverno-studio');
