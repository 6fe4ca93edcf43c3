import { IsOptional, Max, MaxLength, Min, MinLength } from 'class-validator';
import { Field, InputType, Int } from 'type-graphql';

@InputType({
  description: 'All given conditions must hold. BAD_USER_INPUT for a value outside the stated bounds.',
})
export class MovieFilterInput {
  @Field(() => String, {
    nullable: true,
    description: 'Movies having this genre among theirs; 1 to 64 characters.',
  })
  @IsOptional()
  @MinLength(1)
  @MaxLength(64)
  genre?: string | null;

  @Field(() => Int, { nullable: true, description: 'Released in this year or later; 1870 to 2100.' })
  @IsOptional()
  @Min(1870)
  @Max(2100)
  yearFrom?: number | null;

  @Field(() => Int, { nullable: true, description: 'Released in this year or earlier; 1870 to 2100.' })
  @IsOptional()
  @Min(1870)
  @Max(2100)
  yearTo?: number | null;

  @Field(() => String, {
    nullable: true,
    description: 'Case-insensitive substring of the title; 1 to 200 characters.',
  })
  @IsOptional()
  @MinLength(1)
  @MaxLength(200)
  titleContains?: string | null;
}
