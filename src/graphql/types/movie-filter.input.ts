import { IsOptional, Max, MaxLength, Min, MinLength } from 'class-validator';
import { Field, InputType, Int } from 'type-graphql';

@InputType({ description: 'All given conditions must hold.' })
export class MovieFilterInput {
  @Field(() => String, { nullable: true, description: 'Movies having this genre among theirs.' })
  @IsOptional()
  @MinLength(1)
  @MaxLength(64)
  genre?: string | null;

  @Field(() => Int, { nullable: true })
  @IsOptional()
  @Min(1870)
  @Max(2100)
  yearFrom?: number | null;

  @Field(() => Int, { nullable: true })
  @IsOptional()
  @Min(1870)
  @Max(2100)
  yearTo?: number | null;

  @Field(() => String, { nullable: true, description: 'Case-insensitive substring of the title.' })
  @IsOptional()
  @MinLength(1)
  @MaxLength(200)
  titleContains?: string | null;
}
