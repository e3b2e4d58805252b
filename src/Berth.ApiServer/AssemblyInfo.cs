namespace Berth.ApiServer;
