using Berth.Storage;
using Berth.Storage.Sqlite;

// Child process for the durability test: writes keys from several concurrent writers (so group commit is
// exercised) and prints "<revision> <key> ok" for every acknowledged create until it is killed.
if (args.Length != 1)
{
    Console.Error.WriteLine("usage: Berth.Storage.CrashWriter <database path>");
    return 2;
}

IStore store = await SqliteStore.OpenAsync(args[0], new SqliteStoreOptions { CompactionInterval = null });
Console.WriteLine("ready");
const int Writers = 4;
Task[] writers = new Task[Writers];
for (int w = 0; w < Writers; w++)
{
    int writer = w;
    writers[w] = Task.Run(async () =>
    {
        for (long n = 0; ; n++)
        {
            string key = $"/crash/{writer}/{n}";
            long revision = await store.CreateAsync(key, System.Text.Encoding.UTF8.GetBytes(key));
            // Console.Out flushes every write, so a printed line is an acknowledged write.
            Console.WriteLine($"{revision} {key} ok");
        }
    });
}

await Task.WhenAll(writers);
return 0;
