namespace Berth.Storage;
