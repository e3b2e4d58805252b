using Berth;

return await CommandLine.RunAsync(args).ConfigureAwait(false);
