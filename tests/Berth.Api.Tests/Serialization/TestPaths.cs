using System.Runtime.CompilerServices;

namespace Berth.Api.Tests.Serialization;

/// <summary>Finds the shared folder (test data) from the test assembly, locally and in CI.</summary>
internal static class TestPaths
{
    private static readonly Lazy<string> s_sharedDir = new(FindSharedDir);

    /// <summary>
    /// The directory that holds <c>testdata/</c>: <c>$BERTH_SHARED_DIR</c> if set, else the first
    /// <c>shared/</c> with a <c>testdata</c> folder found walking up from the test assembly, then from
    /// this source file (builds with an <c>--artifacts-path</c> outside the repo). The repo is checked
    /// out with <c>shared/</c> beside it, both locally and in CI.
    /// </summary>
    public static string SharedDir => s_sharedDir.Value;

    public static string TestData(params string[] parts) => Path.Combine([SharedDir, "testdata", .. parts]);

    private static string FindSharedDir()
    {
        var fromEnv = Environment.GetEnvironmentVariable("BERTH_SHARED_DIR");
        if (!string.IsNullOrEmpty(fromEnv))
        {
            return fromEnv;
        }

        foreach (var start in new[] { AppContext.BaseDirectory, SourceDirectory() })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "shared");
                if (Directory.Exists(Path.Combine(candidate, "testdata")))
                {
                    return candidate;
                }
            }
        }

        throw new DirectoryNotFoundException(
            $"no shared/testdata found above {AppContext.BaseDirectory} or {SourceDirectory()}; set BERTH_SHARED_DIR");
    }

    private static string SourceDirectory([CallerFilePath] string path = "") => Path.GetDirectoryName(path) ?? ".";
}
