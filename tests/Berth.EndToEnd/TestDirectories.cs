namespace Berth.EndToEnd;

/// <summary>Temp dirs and the repository, found the same way locally and in CI.</summary>
public static class TestDirectories
{
    public static string Create(string prefix)
    {
        var dir = Path.Combine(Path.GetTempPath(), $"{prefix}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        return dir;
    }

    public static void Delete(string dir)
    {
        try
        {
            Directory.Delete(dir, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
            // Already gone.
        }
    }

    /// <summary>The repository root: the nearest ancestor of the test assembly holding Berth.slnx, else where it was built from.</summary>
    public static string RepoRoot { get; } = FindUp(AppContext.BaseDirectory, d => File.Exists(Path.Combine(d, "Berth.slnx")))
        ?? typeof(TestDirectories).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyMetadataAttribute), false)
            .Cast<System.Reflection.AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "RepoRoot")?.Value
        ?? throw new InvalidOperationException("cannot find the repository root (Berth.slnx) above " + AppContext.BaseDirectory);


    private static string? FindUp(string start, Func<string, bool> match)
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            if (match(dir.FullName))
            {
                return dir.FullName;
            }
        }
        return null;
    }
}

public static class Binaries
{
    /// <summary>The berth apphost built next to this test assembly's configuration, or BERTH_BIN.</summary>
    public static string Berth { get; } = Find();

    /// <summary>The berth-testpod apphost (tests/Berth.TestPod), built the same way, or BERTH_TESTPOD_BIN.</summary>
    public static string TestPod { get; } = FindTestPod();

    private static string FindTestPod()
    {
        if (Environment.GetEnvironmentVariable("BERTH_TESTPOD_BIN") is { Length: > 0 } env)
        {
            return env;
        }
        var here = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.OrdinalIgnoreCase) ? "Release" : "Debug";
        var candidates = new[]
        {
            Path.Combine(here.Parent!.Parent!.FullName, "Berth.TestPod", here.Name, "berth-testpod"),
            Path.Combine(TestDirectories.RepoRoot, "tests", "Berth.TestPod", "bin", configuration, "net10.0", "berth-testpod"),
        };
        return candidates.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException($"berth-testpod not found (looked at {string.Join(", ", candidates)}); build tests/Berth.TestPod first or set BERTH_TESTPOD_BIN");
    }

    private static string Find()
    {
        if (Environment.GetEnvironmentVariable("BERTH_BIN") is { Length: > 0 } env)
        {
            return env;
        }
        // The berth project is built with the tests (a build-order reference), into the same output layout:
        // either artifacts/bin/<project>/<config>/ (--artifacts-path) or <project>/bin/<Config>/net10.0/.
        var here = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.OrdinalIgnoreCase) ? "Release" : "Debug";
        var candidates = new[]
        {
            Path.Combine(here.Parent!.Parent!.FullName, "Berth", here.Name, "berth"),
            Path.Combine(TestDirectories.RepoRoot, "src", "Berth", "bin", configuration, "net10.0", "berth"),
        };
        return candidates.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException($"berth binary not found (looked at {string.Join(", ", candidates)}); build src/Berth first or set BERTH_BIN");
    }
}
