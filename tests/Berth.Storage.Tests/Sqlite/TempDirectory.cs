namespace Berth.Storage.Tests.Sqlite;

/// <summary>A per-test directory that is removed even when the test fails.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = Directory.CreateTempSubdirectory("berth-storage-").FullName;
    }

    public string Path { get; }

    public string Database => System.IO.Path.Combine(Path, "state.db");

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a child process may still be releasing a file.
        }
    }
}
