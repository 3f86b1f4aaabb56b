package xapi

// IDCases lets the agreement test in package xapi_test use the id table.
var IDCases = idCases
