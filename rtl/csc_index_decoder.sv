// Decodes one CSC word {weight, rel}: the local row it addresses is rel for the first word of a column,
// else previous row + 1 + rel (rel counts the rows skipped since the previous stored entry; a padding
// entry, weight 0 and rel all ones, occupies a row slot like any other entry).
module csc_index_decoder #(
  parameter int unsigned WeightWidth = 12,
  parameter int unsigned IndexWidth  = 4,
  parameter int unsigned RowWidth    = 8
) (
  input  logic [WeightWidth+IndexWidth-1:0] word_i,
  input  logic                              first_i,
  input  logic [RowWidth-1:0]               prev_row_i,
  output logic signed [WeightWidth-1:0]     weight_o,
  output logic [RowWidth-1:0]               row_o
);
  logic [IndexWidth-1:0] rel;
  assign rel      = word_i[IndexWidth-1:0];
  assign weight_o = word_i[WeightWidth+IndexWidth-1:IndexWidth];
  assign row_o    = first_i ? RowWidth'(rel) : prev_row_i + RowWidth'(rel) + RowWidth'(1);
endmodule
