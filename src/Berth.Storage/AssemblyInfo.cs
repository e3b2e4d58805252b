using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("Berth.Storage.Tests")]
[assembly: InternalsVisibleTo("Berth.Benchmarks")]
