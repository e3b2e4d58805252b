using System.Runtime.CompilerServices;

namespace Berth.Tests;

/// <summary>
/// The manifests written by others in <c>../shared/testdata</c> (the repository is checked out with
/// <c>shared/</c> beside it, locally and in CI; <c>$BERTH_SHARED_DIR</c> points elsewhere). Looked up on first
/// use, so a checkout without it fails only the tests that read it, each with this message.
/// </summary>
internal static class SharedTestData
{
    private static readonly Lazy<string> s_dir = new(Find);

    public static string Path(params string[] parts) => System.IO.Path.Combine([s_dir.Value, .. parts]);

    private static string Find()
    {
        if (Environment.GetEnvironmentVariable("BERTH_SHARED_DIR") is { Length: > 0 } fromEnv)
        {
            return System.IO.Path.Combine(fromEnv, "testdata");
        }
        // From the test assembly, then from this source file: builds with an --artifacts-path outside the repo.
        foreach (var start in new[] { AppContext.BaseDirectory, SourceDirectory() })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = System.IO.Path.Combine(dir.FullName, "shared", "testdata");
                if (Directory.Exists(candidate))
                {
                    return candidate;
                }
            }
        }
        throw new DirectoryNotFoundException(
            $"no shared/testdata above {AppContext.BaseDirectory} or {SourceDirectory()}: check the repository out with "
            + "../shared beside it, or set BERTH_SHARED_DIR to the folder that holds testdata/");
    }

    private static string SourceDirectory([CallerFilePath] string path = "") => System.IO.Path.GetDirectoryName(path) ?? ".";
}
